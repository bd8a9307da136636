package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/nri-audit/nri-audit/esbulk"
	"github.com/nri-audit/nri-audit/internal/shipper"
	"github.com/nri-audit/nri-audit/journald"
)

// shipOptions are the flags of `nri-audit ship`.
type shipOptions struct {
	layers
	config        string
	directory     string
	files         listFlag
	matches       listFlag
	units         listFlag
	since         string
	from          string
	cursorFile    string
	follow        bool
	batchSize     int
	batchBytes    int
	flushInterval time.Duration
	drainTimeout  time.Duration
	retryMin      time.Duration
	retryMax      time.Duration
	maxFieldSize  int
	output        string
	metricsListen string
	progress      string
	statsInterval time.Duration
	logLevel      string

	parser builderFlags
	es     esFlags
}

// shipEnv maps flags to the environment variables that set them.
var shipEnv = map[string]string{
	"directory":      "NRI_AUDIT_DIRECTORY",
	"file":           "NRI_AUDIT_FILE",
	"match":          "NRI_AUDIT_MATCH",
	"unit":           "NRI_AUDIT_UNIT",
	"since":          "NRI_AUDIT_SINCE",
	"from":           "NRI_AUDIT_FROM",
	"cursor-file":    "NRI_AUDIT_CURSOR_FILE",
	"follow":         "NRI_AUDIT_FOLLOW",
	"batch-size":     "NRI_AUDIT_BATCH_SIZE",
	"batch-bytes":    "NRI_AUDIT_BATCH_BYTES",
	"flush-interval": "NRI_AUDIT_FLUSH_INTERVAL",
	"output":         "NRI_AUDIT_OUTPUT",
	"metrics-listen": "NRI_AUDIT_METRICS_LISTEN",
	"progress":       "NRI_AUDIT_PROGRESS",
	"log-level":      "NRI_AUDIT_LOG_LEVEL",
	"mode":           "NRI_AUDIT_MODE",
	"policy":         "NRI_AUDIT_POLICY",
}

func (o *shipOptions) register(fs *flag.FlagSet) {
	o.files.l, o.matches.l, o.units.l = &o.layers, &o.layers, &o.layers
	fs.StringVar(&o.config, "config", "", "YAML file of options: flag names as keys (snake_case works, as do the plugin's key names)")
	fs.StringVar(&o.directory, "directory", "", "journal directory to read (e.g. a copy of /var/log/journal); default: this machine's journal")
	fs.Var(&o.files, "file", "journal `FILE` to read (repeatable, or comma-separated)")
	fs.Var(&o.matches, "match", "journal match `FIELD=value` (repeatable; ORed with each other and with --unit); \"*\" reads every entry\n(default SYSLOG_IDENTIFIER=containerd, crio or nri-audit)")
	fs.Var(&o.units, "unit", "systemd `unit` whose entries to read (repeatable; .service is added when missing)")
	fs.StringVar(&o.from, "from", "cursor", "where to start: cursor (after the entry saved in --cursor-file; when there is none, at --since or the head),\nhead (oldest entry), tail (only entries written from now on), since (at --since)")
	fs.StringVar(&o.since, "since", "", "start at this time: RFC 3339 (2026-02-09T16:44:32Z), a date (2026-02-09), or a duration ago (2h, 30m)")
	fs.StringVar(&o.cursorFile, "cursor-file", "", "file keeping the cursor of the last acknowledged entry, to resume after a restart\n(written atomically after each acknowledged batch; same format as journalctl --cursor-file)")
	fs.BoolVar(&o.follow, "follow", false, "keep running and ship entries as they are written (otherwise stop at the end of the journal)")
	fs.IntVar(&o.batchSize, "batch-size", shipper.DefaultBatchSize, "records per flush")
	fs.IntVar(&o.batchBytes, "batch-bytes", shipper.DefaultBatchBytes, "bytes per flush (encoded)")
	fs.DurationVar(&o.flushInterval, "flush-interval", shipper.DefaultFlushInterval, "longest time a record waits before its batch is flushed")
	fs.DurationVar(&o.drainTimeout, "drain-timeout", shipper.DefaultDrainTimeout, "on SIGINT/SIGTERM, how long the last flush may take")
	fs.DurationVar(&o.retryMin, "retry-min", shipper.DefaultRetryMin, "first wait before a failed batch is sent again (doubling up to --retry-max; the cursor waits)")
	fs.DurationVar(&o.retryMax, "retry-max", shipper.DefaultRetryMax, "longest wait between two attempts of a failed batch")
	fs.IntVar(&o.maxFieldSize, "max-field-size", 0, "cut journal field values to this many bytes (0: whole)")
	fs.StringVar(&o.output, "output", "-", "without an Elasticsearch URL: NDJSON output `FILE` (appended; - is stdout)")
	fs.StringVar(&o.metricsListen, "metrics-listen", "", "serve Prometheus metrics on this `address` (e.g. 127.0.0.1:9464) at /metrics")
	fs.StringVar(&o.progress, "progress", "auto", "progress line while backfilling: auto (when stderr is a terminal), always, never")
	fs.DurationVar(&o.statsInterval, "stats-interval", 30*time.Second, "period of the progress log line when there is no progress line")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	o.parser.register(fs)
	o.es.register(fs)
	// ship has no default URL: without one it writes NDJSON.
	fs.Lookup("url").Usage = "Elasticsearch URL(s), comma-separated, tried round robin (default $" + envURL + "; without a URL, ship writes NDJSON to --output)"
}

func shipUsage(fs *flag.FlagSet, w io.Writer) func() {
	return func() {
		fmt.Fprint(w, `Usage: nri-audit ship [flags]

Reads containerd and CRI-O entries from the systemd journal, turns them into
NRI audit documents, and ships them: to Elasticsearch when --url or $ES_URL
is set, otherwise as NDJSON to stdout (or --output FILE).

With --cursor-file, the position of the last acknowledged entry is saved
after every acknowledged batch, and the next run resumes after it: a crash
or kill re-sends at most the unacknowledged batch (same document ids, so
Elasticsearch keeps one copy), it never skips an entry. SIGINT and SIGTERM
flush, save the cursor and exit 0.

  nri-audit ship --follow --cursor-file /var/lib/nri-audit/ship.cursor --url https://es:9200
  nri-audit ship --file ./node1.journal --output docs.ndjson
  nri-audit ship --directory /mnt/node1/var/log/journal --since 24h --mode audit

Options come from flags, then environment variables, then --config FILE
(flags win). Flags:
`)
		// Group the flags: ship's own first, then parser, then Elasticsearch.
		var own, rest []*flag.Flag
		fs.VisitAll(func(f *flag.Flag) {
			if _, ok := shipEnv[f.Name]; ok || isShipFlag(f.Name) {
				own = append(own, f)
			} else {
				rest = append(rest, f)
			}
		})
		printFlags(w, own)
		fmt.Fprint(w, "\nParser and Elasticsearch flags (Elasticsearch credentials also from $ES_URL, $ES_USER, $ES_PASSWORD, $ES_API_KEY):\n")
		printFlags(w, rest)
	}
}

func isShipFlag(name string) bool {
	switch name {
	case "config", "drain-timeout", "max-field-size", "stats-interval", "retry-min", "retry-max":
		return true
	}
	return false
}

func printFlags(w io.Writer, flags []*flag.Flag) {
	sort.Slice(flags, func(i, j int) bool { return flags[i].Name < flags[j].Name })
	for _, f := range flags {
		name, usage := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if name != "" {
			line += " " + name
		}
		fmt.Fprintln(w, line)
		usage = strings.ReplaceAll(usage, "\n", "\n    \t")
		extra := ""
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "[]" {
			extra = " (default " + f.DefValue + ")"
		}
		if env, ok := shipEnv[f.Name]; ok {
			extra += " [$" + env + "]"
		}
		fmt.Fprintf(w, "    \t%s%s\n", usage, extra)
	}
}

func runShip(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return ship(ctx, args, stdout, stderr, os.Getenv)
}

func ship(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("ship", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o shipOptions
	o.register(fs)
	o.es.getenv = getenv
	fs.Usage = shipUsage(fs, stderr)
	usageErr := func(format string, a ...any) error {
		fmt.Fprintf(stderr, "nri-audit ship: "+format+"\n", a...)
		return errUsage
	}

	cfgPath, err := configPath(args, getenv)
	if err != nil {
		return usageErr("%v", err)
	}
	o.current = 1
	if cfgPath != "" {
		if err := applyConfigFile(fs, cfgPath); err != nil {
			return usageErr("%v", err)
		}
	}
	o.current = 2
	if err := applyEnv(fs, shipEnv, getenv); err != nil {
		return usageErr("%v", err)
	}
	o.current = 3
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected argument %q (journal files go with --file)", fs.Arg(0))
	}

	log, err := newLogger(o.logLevel)
	if err != nil {
		return usageErr("%v", err)
	}
	ui := newShipUI(stderr, o.progress)
	if ui == nil {
		return usageErr("--progress %q: want auto, always or never", o.progress)
	}
	logger := slog.New(log.handler(ui))

	rcfg, store, err := o.readerConfig(getenv, logger)
	if err != nil {
		return usageErr("%v", err)
	}
	rcfg.Logger = logger
	if err := rcfg.Validate(); err != nil {
		return usageErr("%v", err)
	}
	builder, err := o.parser.builder()
	if err != nil {
		return usageErr("%v", err)
	}

	// The sink.
	var (
		sink     shipper.Sink
		esClient *esbulk.Client
		sinkDesc string
	)
	if o.es.urls != "" || getenv(envURL) != "" {
		cfg := o.es.config()
		cfg.Logger = logger
		if esClient, err = esbulk.New(cfg); err != nil {
			return usageErr("%v", err)
		}
		defer esClient.Close()
		if err := esClient.Check(ctx); err != nil {
			if errors.Is(err, esbulk.ErrAuth) {
				return err
			}
			logger.Warn("ship: Elasticsearch is not reachable yet; batches are retried until it is", "error", err)
		}
		sink = shipper.NewESSink(esClient)
		sinkDesc = "elasticsearch " + strings.Join(cfg.URLs, ",")
	} else {
		w, desc, closeOut, err := openOutput(o.output, stdout)
		if err != nil {
			return err
		}
		defer closeOut()
		sink = shipper.NewNDJSONSink(w)
		sinkDesc = desc
	}

	var cursor shipper.CursorStore
	if store != nil {
		cursor = store
	}
	sh, err := shipper.New(shipper.Config{
		Builder:       builder,
		Sink:          sink,
		Cursor:        cursor,
		BatchSize:     o.batchSize,
		BatchBytes:    o.batchBytes,
		FlushInterval: o.flushInterval,
		DrainTimeout:  o.drainTimeout,
		RetryMin:      o.retryMin,
		RetryMax:      o.retryMax,
		Logger:        logger,
	})
	if err != nil {
		return usageErr("%v", err)
	}

	reader, err := journald.Open(ctx, rcfg)
	if err != nil {
		return err
	}
	defer reader.Close()
	logger.Info("ship: started", "journal", describeSource(rcfg), "start", describeStart(rcfg),
		"follow", rcfg.Follow, "sink", sinkDesc, "cursor_file", o.cursorFile)

	m := &shipMetrics{reader: reader, ship: sh, es: esClient}
	if o.metricsListen != "" {
		stop, addr, err := m.serve(o.metricsListen)
		if err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
		defer stop()
		logger.Info("ship: metrics", "url", "http://"+addr+"/metrics")
	}

	start := time.Now()
	stopUI := ui.run(reader, sh, o.statsInterval, logger)
	runErr := sh.Run(ctx, reader.Batches())
	stopUI()
	reader.Close()
	readErr := reader.Err()

	st := sh.Stats()
	elapsed := time.Since(start)
	logger.Info("ship: done", "entries", st.Entries, "shipped", st.Acked, "skipped", st.Skipped,
		"elapsed", elapsed.Round(time.Millisecond), "rate", fmt.Sprintf("%.0f/s", float64(st.Entries)/max(elapsed.Seconds(), 1e-9)),
		"cursor", st.Cursor)
	return errors.Join(runErr, readErr)
}

// readerConfig turns the flags into the reader's configuration and the
// cursor store (nil without --cursor-file).
func (o *shipOptions) readerConfig(getenv func(string) string, log *slog.Logger) (journald.Config, *journald.CursorStore, error) {
	cfg := journald.Config{
		Directory:    o.directory,
		Files:        o.files.values,
		Matches:      o.matches.values,
		Units:        o.units.values,
		Follow:       o.follow,
		MaxFieldSize: o.maxFieldSize,
	}
	var since time.Time
	if o.since != "" {
		t, err := parseSince(o.since, time.Now())
		if err != nil {
			return cfg, nil, err
		}
		since = t
	}
	var store *journald.CursorStore
	if o.cursorFile != "" {
		if err := os.MkdirAll(filepath.Dir(o.cursorFile), 0o755); err != nil {
			return cfg, nil, fmt.Errorf("--cursor-file: %w", err)
		}
		store = journald.NewCursorStore(o.cursorFile)
	}
	switch o.from {
	case "cursor":
		saved := ""
		if store != nil {
			var err error
			if saved, err = store.Load(); err != nil {
				return cfg, nil, err
			}
		}
		switch {
		case saved != "":
			cfg.Start, cfg.Cursor = journald.FromCursor, saved
		case !since.IsZero():
			cfg.Start, cfg.Since = journald.FromSince, since
		default:
			cfg.Start = journald.FromHead
		}
	case "head", "tail":
		if !since.IsZero() {
			return cfg, nil, fmt.Errorf("--since goes with --from since or cursor, not %s", o.from)
		}
		cfg.Start, _ = journald.ParseStart(o.from)
	case "since":
		if since.IsZero() {
			return cfg, nil, errors.New("--from since needs --since")
		}
		cfg.Start, cfg.Since = journald.FromSince, since
	default:
		return cfg, nil, fmt.Errorf("--from %q: want cursor, head, tail or since", o.from)
	}
	if cfg.Follow && store == nil {
		log.Warn("ship: following without --cursor-file: a restart starts again from --from")
	}
	return cfg, store, nil
}

// parseSince accepts RFC 3339, "2006-01-02 15:04:05", a date, or a
// duration before now.
func parseSince(s string, now time.Time) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	if d, err := time.ParseDuration(strings.TrimPrefix(s, "-")); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("--since %q: want RFC 3339 (2026-02-09T16:44:32Z), a date (2026-02-09) or a duration ago (2h)", s)
}

func openOutput(path string, stdout io.Writer) (io.Writer, string, func(), error) {
	if path == "" || path == "-" {
		return stdout, "stdout (NDJSON)", func() {}, nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, "", nil, fmt.Errorf("--output: %w", err)
	}
	return f, path + " (NDJSON)", func() { f.Close() }, nil
}

func describeSource(c journald.Config) string {
	switch {
	case c.Directory != "":
		return c.Directory
	case len(c.Files) > 0:
		return strings.Join(c.Files, ",")
	}
	return "local"
}

func describeStart(c journald.Config) string {
	switch c.Start {
	case journald.FromCursor:
		return "after cursor " + c.Cursor
	case journald.FromSince:
		return "since " + c.Since.Format(time.RFC3339)
	}
	return c.Start.String()
}
