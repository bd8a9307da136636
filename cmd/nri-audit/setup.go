package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"strings"
	"time"

	"github.com/nri-audit/nri-audit/esbulk"
	"github.com/nri-audit/nri-audit/examples/efk"
)

const defaultKibanaURL = "http://127.0.0.1:5601"

func runSetup(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("setup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var es esFlags
	es.register(fs)
	indexTemplate := fs.Bool("index-template", false, "install the index template, component templates and ILM policy for the --index pattern (the default when neither --data-stream nor --dashboards is given)")
	force := fs.Bool("force", false, "install even when the same or a newer version is installed")
	printOnly := fs.Bool("print", false, "write what would be installed to stdout (Kibana Dev Tools format) and contact nothing")
	dashboards := fs.Bool("dashboards", false, "import the Kibana dashboards and data view")
	kibanaURL := fs.String("kibana-url", "", "Kibana URL (default $KIBANA_URL or "+defaultKibanaURL+")")
	kibanaUser := fs.String("kibana-user", "", "Kibana user (default the Elasticsearch user)")
	kibanaPassword := fs.String("kibana-password", "", "Kibana password (default $KIBANA_PASSWORD, else the Elasticsearch password)")
	kibanaAPIKey := fs.String("kibana-api-key", "", "Kibana API key (default $KIBANA_API_KEY)")
	kibanaSpace := fs.String("kibana-space", "", "Kibana space to import into (default: the default space)")
	kibanaWait := fs.Duration("kibana-wait", 3*time.Minute, "how long to wait for Kibana to become available")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: nri-audit setup [--url URL] [--index-template] [--data-stream NAME] [--dashboards] [flags]\n\n"+
			"Installs what the Elasticsearch documents of nri-audit need: the component\n"+
			"templates (mappings, settings), an index template for the --index pattern\n"+
			"or the --data-stream, and the ILM policy; each only when it is absent or\n"+
			"older (version in _meta), so running it again is harmless.\n\n"+
			"  nri-audit setup --url https://es:9200 --ca-file ca.pem --user elastic\n"+
			"  nri-audit setup --data-stream logs-nri_audit-default --dashboards\n"+
			"  nri-audit setup --print > nri-audit-templates.txt\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "nri-audit setup: unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	cfg := es.config()
	cfg.StatsInterval = -1
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	type plan struct {
		assets   []efk.Asset
		patterns []string
	}
	var plans []plan
	// The data view covers what setup prepares: the --index pattern, the
	// data stream(s), or both (comma-separated); with --dashboards alone
	// the default index pattern.
	var views []string
	if *indexTemplate || (cfg.DataStream == "" && !*dashboards) {
		assets, err := efk.IndexTemplateAssets()
		if err != nil {
			return err
		}
		index := es.index
		if index == "" {
			index = esbulk.DefaultIndex
		}
		p := plan{assets: assets}
		ip := indexPatternOf(index)
		if ip != efk.IndexPattern {
			p.patterns = []string{ip}
		}
		views = append(views, ip)
		plans = append(plans, p)
	}
	if cfg.DataStream != "" {
		assets, err := efk.DataStreamAssets()
		if err != nil {
			return err
		}
		p := plan{assets: assets}
		dp := efk.DataStreamPattern
		if ok, _ := path.Match(efk.DataStreamPattern, cfg.DataStream); !ok {
			p.patterns, dp = []string{cfg.DataStream}, cfg.DataStream
		}
		views = append(views, dp)
		plans = append(plans, p)
	}
	pattern := efk.IndexPattern
	if len(views) > 0 {
		pattern = strings.Join(views, ",")
	}

	// The dead-letter index: the shared mappings without the daily
	// lifecycle, which would delete it whole 90 days after its creation.
	// After the plans above, which install the component templates.
	if len(plans) > 0 && (*indexTemplate || cfg.DataStream == "" || es.deadLetterIndex != "") {
		assets, err := efk.DeadLetterAssets()
		if err != nil {
			return err
		}
		p := plan{assets: assets}
		if dl := es.deadLetterIndex; dl != "" && dl != efk.DeadLetterIndex {
			p.patterns = []string{dl}
		}
		plans = append(plans, p)
	}

	var client *esbulk.Client
	if len(plans) > 0 && !*printOnly {
		var err error
		if client, err = esbulk.New(cfg); err != nil {
			fmt.Fprintf(stderr, "nri-audit setup: %v\n", err)
			return errUsage
		}
		defer client.Close()
		if err := client.Check(ctx); err != nil {
			return err
		}
	}
	for _, p := range plans {
		opts := esbulk.SetupOptions{IndexPatterns: p.patterns, Force: *force}
		for _, a := range p.assets {
			opts.Assets = append(opts.Assets, esbulk.Asset{Path: a.Path, Body: a.Body})
		}
		if *printOnly {
			assets, err := esbulk.PrepareAssets(opts)
			if err != nil {
				return err
			}
			for _, a := range assets {
				fmt.Fprintf(stdout, "PUT %s\n%s\n", a.Path, bytes.TrimRight(a.Body, "\n"))
			}
			continue
		}
		acts, err := client.Setup(ctx, opts)
		for _, a := range acts {
			fmt.Fprintln(stdout, a.String())
		}
		if err != nil {
			return err
		}
	}

	if *dashboards {
		ko := kibanaOptions{
			URL:                firstNonEmpty(*kibanaURL, os.Getenv("KIBANA_URL"), defaultKibanaURL),
			User:               firstNonEmpty(*kibanaUser, cfg.User),
			APIKey:             firstNonEmpty(*kibanaAPIKey, os.Getenv("KIBANA_API_KEY")),
			CAFile:             cfg.CAFile,
			InsecureSkipVerify: cfg.InsecureSkipVerify,
			IndexPattern:       pattern,
			Space:              *kibanaSpace,
			Wait:               *kibanaWait,
		}
		if ko.APIKey != "" {
			ko.User = ""
		}
		if ko.User != "" {
			ko.Password = firstNonEmpty(*kibanaPassword, os.Getenv("KIBANA_PASSWORD"))
			if ko.Password == "" && ko.User == cfg.User {
				ko.Password = cfg.Password
			}
		}
		if *printOnly {
			ko.Print = stdout
		}
		if err := importDashboards(ctx, ko); err != nil {
			return err
		}
	}
	return nil
}

// indexPatternOf turns an index name or date pattern into the index
// template pattern that matches every index it produces
// (nri-audit-%Y.%m.%d → nri-audit-*).
func indexPatternOf(index string) string {
	if i := strings.IndexByte(index, '%'); i >= 0 {
		return index[:i] + "*"
	}
	return index
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
