package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/nri-audit/nri-audit/examples/efk"
	"github.com/nri-audit/nri-audit/kibana"
)

// defaultKibanaWait bounds how long setup waits for Kibana to become
// available: a fresh Kibana runs its saved-object migrations first.
const defaultKibanaWait = 3 * time.Minute

// kibanaOptions say where and how `nri-audit setup --dashboards` imports
// the Kibana saved objects.
type kibanaOptions struct {
	URL                string // Kibana base URL
	User, Password     string // basic auth (defaults to the Elasticsearch user)
	APIKey             string // "ApiKey" authorization, encoded or id:key
	CAFile             string // PEM CA file (shared with --ca-file)
	InsecureSkipVerify bool
	// IndexPattern is the data view's pattern: the indices or data
	// streams setup prepared (nri-audit-* or logs-nri_audit-*).
	IndexPattern string
	// Print, when set, receives the saved objects (NDJSON) instead of an
	// import (setup --print).
	Print io.Writer

	// Space is the Kibana space to import into ("" = default).
	Space string
	// Wait bounds the wait for Kibana's status to be available (0 =
	// defaultKibanaWait).
	Wait time.Duration
	// Logger receives progress; nil means slog.Default().
	Logger *slog.Logger
}

// importDashboards waits for Kibana, then imports the embedded saved
// objects (data view, Lens visualizations, saved searches, dashboard) with
// overwrite, so re-running setup upgrades them in place.
func importDashboards(ctx context.Context, o kibanaOptions) error {
	files, err := efk.KibanaSavedObjects()
	if err != nil {
		return err
	}
	for i := range files {
		if files[i].Body, err = efk.WithDataViewPattern(files[i].Body, o.IndexPattern); err != nil {
			return err
		}
	}
	if o.Print != nil {
		for _, f := range files {
			fmt.Fprintf(o.Print, "# POST /api/saved_objects/_import?overwrite=true (kbn-xsrf: true, multipart file %s)\n", f.Name)
			if _, err := o.Print.Write(f.Body); err != nil {
				return fmt.Errorf("dashboards: %w", err)
			}
		}
		return nil
	}

	logger := o.Logger
	if logger == nil {
		logger = slog.Default()
	}
	httpClient, err := kibanaHTTPClient(o)
	if err != nil {
		return err
	}
	c, err := kibana.New(kibana.Config{
		URL: o.URL, Space: o.Space,
		Username: o.User, Password: o.Password, APIKey: o.APIKey,
		HTTPClient: httpClient, Logger: logger,
	})
	if err != nil {
		return fmt.Errorf("dashboards: %w", err)
	}
	wait := o.Wait
	if wait <= 0 {
		wait = defaultKibanaWait
	}
	st, err := c.WaitReady(ctx, wait)
	if err != nil {
		return fmt.Errorf("dashboards: %w%s", err, authHint(err))
	}
	logger.Info("kibana", "url", o.URL, "version", st.Version, "status", st.Level)
	for _, f := range files {
		res, err := c.Import(ctx, f.Name, f.Body, kibana.ImportOptions{Overwrite: true})
		if err != nil {
			return fmt.Errorf("dashboards: %s: %w%s", f.Name, err, authHint(err))
		}
		logger.Info("kibana saved objects imported", "file", f.Name, "objects", res.SuccessCount,
			"data_view", o.IndexPattern, "dashboard", c.URL()+"/app/dashboards#/view/"+efk.DashboardID)
	}
	return nil
}

// authHint names the options to fix when Kibana refused the credentials.
func authHint(err error) string {
	if kibana.IsUnauthorized(err) {
		return " (check --kibana-user/--kibana-password or --kibana-api-key; they default to the Elasticsearch credentials)"
	}
	return ""
}

// kibanaHTTPClient builds the HTTP client for the TLS options.
func kibanaHTTPClient(o kibanaOptions) (*http.Client, error) {
	if o.CAFile == "" && !o.InsecureSkipVerify {
		return &http.Client{Timeout: 60 * time.Second}, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: o.InsecureSkipVerify} //nolint:gosec // opt-in flag for tests
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("dashboards: CA file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("dashboards: CA file %s: no PEM certificate", o.CAFile)
		}
		tc.RootCAs = pool
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tc
	return &http.Client{Timeout: 60 * time.Second, Transport: tr}, nil
}
