package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/nri-audit/nri-audit/audit"
	"github.com/nri-audit/nri-audit/internal/summary"
)

func runSummary(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("summary", flag.ContinueOnError)
	fs.SetOutput(stderr)
	prefix := fs.String("key-prefix", audit.DefaultPrefix, "prefix of the parsed keys in the documents")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: nri-audit summary [flags] [FILE...] (default stdin)\n\n"+
			"Reads NDJSON documents (the output of ship or parse) and prints the adjustments\n"+
			"by plugin and field and the errors by plugin.\n\n"+
			"  nri-audit ship --file node1.journal | nri-audit summary\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	readers := []io.Reader{stdin}
	if fs.NArg() > 0 {
		readers = nil
		for _, name := range fs.Args() {
			f, err := os.Open(name)
			if err != nil {
				return err
			}
			defer f.Close()
			readers = append(readers, f)
		}
	}
	s, err := summary.Read(io.MultiReader(readers...), *prefix)
	if err != nil {
		return err
	}
	return s.Write(stdout)
}
