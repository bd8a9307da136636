package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/nri-audit/nri-audit/internal/journalgen"
)

func runGenJournal(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("gen-journal", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "directory for the journal files (created); required unless --export")
	entries := fs.Int("entries", 2000, "number of entries")
	files := fs.Int("files", 1, "number of files: more than one leaves a rotated set (system@….journal + system.journal)")
	seed := fs.Uint64("seed", 0, "random seed; the same flags give the same journal")
	start := fs.String("start", "", "receive time of the first entry, RFC 3339 (default 2026-02-09T16:44:32Z)")
	interval := fs.Duration("interval", 200*time.Millisecond, "time between two container creations")
	host := fs.String("hostname", "worker-1", "_HOSTNAME of the entries")
	export := fs.String("export", "", "write Journal Export Format to this file (- for stdout) instead of journal files")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: nri-audit gen-journal --out DIR [flags]\n\n"+
			"Writes a realistic sample journal: containerd and CRI-O entries with the 45 NRI\n"+
			"audit messages (text and JSON, several plugins), plugin errors, ordinary lines,\n"+
			"a multi-line panic and kubelet entries. Journal files are made by piping the\n"+
			"export format into systemd-journal-remote (Debian/Ubuntu: apt-get install\n"+
			"systemd-journal-remote).\n\n"+
			"  nri-audit gen-journal --out /tmp/demo && nri-audit ship --directory /tmp/demo\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	opts := journalgen.Options{Entries: *entries, Seed: *seed, Interval: *interval, Hostname: *host}
	if *start != "" {
		t, err := time.Parse(time.RFC3339Nano, *start)
		if err != nil {
			fmt.Fprintf(stderr, "nri-audit gen-journal: --start: %v\n", err)
			return errUsage
		}
		opts.Start = t
	}
	if *entries < 1 || *files < 1 || *files > *entries || (*out == "") == (*export == "") {
		fmt.Fprintln(stderr, "nri-audit gen-journal: give --out DIR or --export FILE, --entries ≥ 1 and 1 ≤ --files ≤ --entries")
		return errUsage
	}
	g := journalgen.New(opts)
	if *export != "" {
		w := stdout
		if *export != "-" {
			f, err := os.Create(*export)
			if err != nil {
				return err
			}
			defer f.Close()
			w = f
		}
		if _, err := journalgen.WriteExport(w, g); err != nil {
			return err
		}
	} else {
		if err := os.MkdirAll(*out, 0o755); err != nil {
			return err
		}
		paths, err := journalgen.MakeFiles(ctx, *out, "system", g, *files, *entries / *files)
		if err != nil {
			return err
		}
		for _, p := range paths {
			rel, _ := filepath.Rel(".", p)
			fmt.Fprintf(stderr, "wrote %s\n", rel)
		}
	}
	st := g.Stats()
	fmt.Fprintf(stderr, "%d entries: %d containerd/CRI-O (%d audit lines, %d plugin errors, %d multi-line), %d kubelet\n",
		st.Entries, st.Matching, st.Audit, st.PluginErrors, st.Multiline, st.Excluded)
	return nil
}
