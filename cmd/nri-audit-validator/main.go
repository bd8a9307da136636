// Command nri-audit-validator is an external NRI plugin that audits the
// container adjustments of NRI plugins on released containerd (2.2+) and
// CRI-O (1.34+): as a validator it sees every adjustment with the plugin
// that made each change, and writes one audit line per change (the lines
// of containerd/nri PR #268, plus container and pod identity) to the
// systemd journal (SYSLOG_IDENTIFIER=nri-audit) or to stdout/stderr. It
// approves every container unless --fail-closed is set.
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
	"strings"
	"syscall"

	"github.com/containerd/nri/pkg/api"
	nrilog "github.com/containerd/nri/pkg/log"
	"github.com/coreos/go-systemd/v22/journal"

	"github.com/nri-audit/nri-audit/adjustlog"
	"github.com/nri-audit/nri-audit/nrivalidator"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("nri-audit-validator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	output := fs.String("output", "auto", "where audit lines go: auto (the journal when its socket is reachable, else stdout), journal, stdout or stderr")
	format := fs.String("format", "text", "line format: text (logfmt, as logrus' TextFormatter) or json")
	socket := fs.String("socket", api.DefaultSocketPath, "the runtime's NRI socket")
	name := fs.String("name", nrivalidator.DefaultPluginName, "plugin name to register")
	idx := fs.String("idx", nrivalidator.DefaultPluginIndex, "plugin index to register (two digits)")
	failClosed := fs.Bool("fail-closed", false, "reject a container whose audit lines cannot be written in time")
	writeTimeout := fs.Duration("write-timeout", nrivalidator.DefaultWriteTimeout, "how long a container creation waits for its audit lines to be written (keep it below the runtime's plugin request timeout, 2s by default)")
	queue := fs.Int("queue", nrivalidator.DefaultQueueSize, "adjustments that may wait for the writer")
	envValues := fs.String("env-values", "redact", "env variable values: redact (write <redacted>) or clear")
	unchangedEnv := fs.Bool("unchanged-env", false, "also write a line for every untouched pre-existing env variable, as the PoC runtime does")
	logLevel := fs.String("log-level", "info", "level of the plugin's own messages on stderr: debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "nri-audit-validator: unexpected arguments %q\n", fs.Args())
		return 2
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(stderr, "nri-audit-validator: -log-level: %v\n", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	nrilog.Set(nrivalidator.NRILogger(log))

	f, err := nrivalidator.ParseFormat(*format)
	if err != nil {
		fmt.Fprintf(stderr, "nri-audit-validator: -format: %v\n", err)
		return 2
	}
	var lines adjustlog.Options
	switch strings.ToLower(*envValues) {
	case "redact":
	case "clear":
		lines.ClearEnvValues = true
	default:
		fmt.Fprintf(stderr, "nri-audit-validator: -env-values: %q is neither redact nor clear\n", *envValues)
		return 2
	}
	lines.UnchangedEnv = *unchangedEnv
	sink, where, err := openSink(*output, f, stdout, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "nri-audit-validator: -output: %v\n", err)
		return 2
	}

	v, err := nrivalidator.New(nrivalidator.Options{
		Sink: sink, Lines: lines, FailClosed: *failClosed, WriteTimeout: *writeTimeout,
		QueueSize: *queue, Logger: log,
	})
	if err != nil {
		fmt.Fprintf(stderr, "nri-audit-validator: %v\n", err)
		return 2
	}
	log.Info("starting", "output", where, "format", f, "socket", *socket, "plugin", *idx+"-"+*name,
		"fail_closed", *failClosed, "env_values", strings.ToLower(*envValues))
	err = nrivalidator.Serve(ctx, v, nrivalidator.ServeOptions{Name: *name, Index: *idx, SocketPath: *socket, Logger: log})
	v.Close()
	st := v.Stats()
	log.Info("stopped", "requests", st.Requests, "lines", st.Lines, "written", st.Written,
		"failed", st.Failed, "dropped", st.Dropped, "timed_out", st.TimedOut)
	if err != nil {
		log.Error("exiting", "err", err)
		return 1
	}
	return 0
}

// openSink picks the sink of -output.
func openSink(output string, f nrivalidator.Format, stdout, stderr io.Writer) (nrivalidator.Sink, string, error) {
	switch strings.ToLower(output) {
	case "auto":
		if journal.Enabled() {
			return nrivalidator.NewJournalSink(f, nil), "journal", nil
		}
		return nrivalidator.NewStreamSink(stdout, f), "stdout", nil
	case "journal":
		if !journal.Enabled() {
			return nil, "", errors.New("the journal socket is not reachable (is systemd-journald running? in a container, mount /run/systemd/journal/socket)")
		}
		return nrivalidator.NewJournalSink(f, nil), "journal", nil
	case "stdout":
		return nrivalidator.NewStreamSink(stdout, f), "stdout", nil
	case "stderr":
		return nrivalidator.NewStreamSink(stderr, f), "stderr", nil
	}
	return nil, "", fmt.Errorf("%q is not auto, journal, stdout or stderr", output)
}
