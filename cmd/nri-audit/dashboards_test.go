package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/nri-audit/nri-audit/examples/efk"
	"github.com/nri-audit/nri-audit/kibana/kibanatest"
)

func dataViewTitle(t *testing.T, srv *kibanatest.Server) string {
	t.Helper()
	o, ok := srv.Stored("", "index-pattern", efk.DataViewID)
	if !ok {
		t.Fatalf("data view %s not imported", efk.DataViewID)
	}
	return o.Title()
}

// The whole command: flags, credential defaults, the wait, the import.
func TestSetupDashboardsImports(t *testing.T) {
	srv := kibanatest.NewServer(t)
	srv.Users = map[string]string{"elastic": "s3cret"}
	srv.NotReadyCalls = 2
	t.Setenv("KIBANA_URL", "")
	t.Setenv("KIBANA_PASSWORD", "")
	t.Setenv("KIBANA_API_KEY", "")
	// Kibana credentials default to the Elasticsearch ones.
	code, _, stderr := runCmd(t, "", "setup", "--dashboards", "--kibana-url", srv.URL, "--user", "elastic", "--password", "s3cret")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	imps := srv.Imports()
	if len(imps) != 1 || !imps[0].Overwrite || imps[0].Header.Get("kbn-xsrf") == "" {
		t.Fatalf("imports %+v", imps)
	}
	if _, ok := srv.Stored("", "dashboard", efk.DashboardID); !ok {
		t.Error("dashboard not imported")
	}
	// Only --dashboards: the data view keeps the index pattern setup uses
	// by default.
	if got := dataViewTitle(t, srv); got != efk.IndexPattern {
		t.Errorf("data view title %q, want %q", got, efk.IndexPattern)
	}
	// Running it again overwrites in place.
	if code, _, stderr := runCmd(t, "", "setup", "--dashboards", "--kibana-url", srv.URL, "--user", "elastic", "--password", "s3cret"); code != 0 {
		t.Fatalf("second run: exit %d: %s", code, stderr)
	}
}

func TestImportDashboardsDataViewPattern(t *testing.T) {
	srv := kibanatest.NewServer(t)
	err := importDashboards(context.Background(), kibanaOptions{URL: srv.URL, IndexPattern: "logs-nri_audit-prod", Wait: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if got := dataViewTitle(t, srv); got != "logs-nri_audit-prod" {
		t.Errorf("data view title %q", got)
	}
	// Everything else is imported unchanged.
	files, _ := efk.KibanaSavedObjects()
	if n := len(srv.Imports()[0].Objects); n != bytes.Count(files[0].Body, []byte("\n")) {
		t.Errorf("%d objects imported", n)
	}
}

func TestImportDashboardsUnauthorized(t *testing.T) {
	srv := kibanatest.NewServer(t)
	srv.Users = map[string]string{"elastic": "s3cret"}
	start := time.Now()
	err := importDashboards(context.Background(), kibanaOptions{URL: srv.URL, User: "elastic", Password: "wrong"})
	if err == nil || !strings.Contains(err.Error(), "HTTP 401") || !strings.Contains(err.Error(), "--kibana-password") {
		t.Fatalf("err = %v, want a 401 with a hint", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Error("a 401 must end the wait at once")
	}
	if len(srv.Imports()) != 0 {
		t.Error("imported despite the 401")
	}
}

func TestImportDashboardsAPIKey(t *testing.T) {
	srv := kibanatest.NewServer(t)
	srv.APIKeys = []string{"aWQ6a2V5"} // base64("id:key")
	if err := importDashboards(context.Background(), kibanaOptions{URL: srv.URL, APIKey: "id:key"}); err != nil {
		t.Fatal(err)
	}
}

func TestImportDashboardsTLS(t *testing.T) {
	srv := kibanatest.NewTLSServer(t)
	ctx := context.Background()
	// Without the CA the certificate is refused: a transport error, so
	// WaitReady keeps trying until its bound.
	err := importDashboards(ctx, kibanaOptions{URL: srv.URL, Wait: 700 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("err = %v, want a certificate error", err)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := importDashboards(ctx, kibanaOptions{URL: srv.URL, CAFile: ca}); err != nil {
		t.Fatalf("with --ca-file: %v", err)
	}
	if err := importDashboards(ctx, kibanaOptions{URL: srv.URL, CAFile: filepath.Join(t.TempDir(), "missing.pem")}); err == nil {
		t.Error("a missing CA file was accepted")
	}
}

func TestImportDashboardsPartialFailure(t *testing.T) {
	srv := kibanatest.NewServer(t)
	srv.Types = []string{"index-pattern", "search", "dashboard"} // a Kibana without Lens
	err := importDashboards(context.Background(), kibanaOptions{URL: srv.URL})
	if err == nil {
		t.Fatal("no error although Kibana refused objects")
	}
	for _, want := range []string{"unsupported_type", `lens/nri-audit-lens-adjustments "NRI adjustments"`, "missing_references [lens/"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}

func TestSetupDashboardsPrint(t *testing.T) {
	code, out, stderr := runCmd(t, "", "setup", "--dashboards", "--print", "--kibana-url", "http://127.0.0.1:1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var objects int
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.HasPrefix(l, "#") {
			continue
		}
		var o map[string]any
		if err := json.Unmarshal([]byte(l), &o); err != nil {
			t.Fatalf("printed line %q: %v", l, err)
		}
		objects++
	}
	if objects < 10 {
		t.Errorf("printed %d objects", objects)
	}
}

// TestGeneratorScriptUsesRealFlags: the gen-journal call of the demo's
// generator script parses, with its shell variables at their defaults.
func TestGeneratorScriptUsesRealFlags(t *testing.T) {
	b, err := os.ReadFile("../../examples/efk/generator.sh")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 || f[0] != "nri-audit" {
			continue
		}
		n++
		args := strings.Fields(strings.NewReplacer(`"$dir"`, t.TempDir(), `"$start"`, "2026-02-09T16:44:32Z").Replace(strings.Join(f[1:], " ")))
		for i, a := range args {
			if a == "--entries" {
				args[i+1] = "20" // keep the test quick; the flag is what is checked
			}
		}
		if code, _, stderr := runCmd(t, "", args...); code != 0 {
			t.Errorf("generator.sh: nri-audit %s: exit %d: %s", strings.Join(args, " "), code, stderr)
		}
	}
	if n == 0 {
		t.Error("generator.sh runs no nri-audit command")
	}
}

// TestComposeCommandsUseRealFlags: the commands docker-compose.yml and the
// secure override run must be ones this binary accepts.
func TestComposeCommandsUseRealFlags(t *testing.T) {
	_, _, usage := runCmd(t, "", "setup", "-h")
	for _, file := range []string{"../../docker-compose.yml", "../../examples/efk/docker-compose.secure.yml"} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var c struct {
			Services map[string]struct {
				Command     []string          `yaml:"command"`
				Entrypoint  []string          `yaml:"entrypoint"`
				Environment map[string]string `yaml:"environment"`
				Build       any               `yaml:"build"`
			} `yaml:"services"`
		}
		if err := yaml.Unmarshal(b, &c); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		s, ok := c.Services["setup"]
		if !ok {
			t.Fatalf("%s: no setup service", file)
		}
		if len(s.Command) > 0 {
			if s.Command[0] != "setup" {
				t.Errorf("%s: setup runs %v", file, s.Command)
			}
			for _, a := range s.Command[1:] {
				name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
				if !regexp.MustCompile(`(?m)^\s+-` + regexp.QuoteMeta(name) + `\b`).MatchString(usage) {
					t.Errorf("%s: setup flag %q is not a flag of nri-audit setup", file, a)
				}
			}
		}
		for k := range s.Environment {
			if k != envURL && k != envUser && k != envPassword && k != envAPIKey &&
				k != "KIBANA_URL" && k != "KIBANA_PASSWORD" && k != "KIBANA_API_KEY" {
				t.Errorf("%s: setup environment %s is read by nothing", file, k)
			}
		}
	}
}
