// Command nri-audit-demogen is the journal generator of the EFK demo
// (docker-compose.yml, via examples/efk/generator.sh): it keeps appending
// the NRI audit entries of two nodes to journal files in --dir until it is
// stopped. See package examples/efk/demogen.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/nri-audit/nri-audit/examples/efk/demogen"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stderr))
}

func newFlags(stderr io.Writer) (*flag.FlagSet, *demogen.Options) {
	o := &demogen.Options{}
	fs := flag.NewFlagSet("nri-audit-demogen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.Dir, "dir", "/var/log/journal", "journal directory (worker-1.journal and worker-2.journal are appended to)")
	fs.DurationVar(&o.Interval, "interval", 2*time.Second, "time between two container creations on each node")
	fs.DurationVar(&o.Flush, "flush", 2*time.Second, "how often the entries due so far are written")
	fs.Uint64Var(&o.Seed, "seed", uint64(time.Now().UnixNano()), "random seed")
	return fs, o
}

func run(ctx context.Context, args []string, stderr io.Writer) int {
	fs, o := newFlags(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "nri-audit-demogen: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	o.Logger = log
	st, err := demogen.Run(ctx, *o)
	log.Info("stopped", "writes", st.Writes, "entries", st.Entries)
	if err != nil {
		log.Error("nri-audit-demogen", "err", err)
		return 1
	}
	return 0
}
