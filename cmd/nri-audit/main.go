// Command nri-audit parses, ships and sets up NRI audit events: journal
// entries of containerd and CRI-O → Elasticsearch documents.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"parse", "turn log lines or journalctl JSON into the documents nri-audit ships", runParse},
		{"setup", "install the Elasticsearch index templates and lifecycle (and Kibana dashboards)", runSetup},
		{"ship", "read the journal and ship the documents to Elasticsearch (or NDJSON), resumable", runShip},
		{"gen-journal", "write a realistic sample journal (containerd, CRI-O, NRI audit lines) for demos and tests", runGenJournal},
		{"summary", "tally NDJSON documents: adjustments by plugin and field, errors by plugin", runSummary},
	}
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "nri-audit: NRI audit events from the journal into Elasticsearch\n\nUsage:\n  nri-audit <command> [flags]\n\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun 'nri-audit <command> -h' for the flags of a command.\n")
}

// errUsage marks errors already explained to the user (exit code 2).
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, args[1:], stdin, stdout, stderr)
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			return 2
		default:
			fmt.Fprintf(stderr, "nri-audit %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "nri-audit: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}
