package efk_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/nri-audit/nri-audit/examples/efk/efktest"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := efktest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// Environment the secure variant requires (compose fails on ${VAR:?...}
// without it).
var secureEnv = []string{"ELASTIC_PASSWORD=elastic-pw", "KIBANA_PASSWORD=kibana-pw", "NRI_AUDIT_WRITER_PASSWORD=writer-pw"}

func loadCompose(t *testing.T, env []string, files ...string) *types.Project {
	t.Helper()
	root := repoRoot(t)
	var paths []string
	for _, f := range files {
		paths = append(paths, filepath.Join(root, f))
	}
	opts, err := cli.NewProjectOptions(paths,
		cli.WithWorkingDirectory(root),
		cli.WithEnv(env),
		cli.WithInterpolation(true),
		cli.WithNormalization(true),
		cli.WithConsistency(true),
		cli.WithResolvedPaths(true),
	)
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("compose-go refuses %v: %v", files, err)
	}
	return p
}

func service(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	s, err := p.GetService(name)
	if err != nil {
		t.Fatalf("service %s: %v", name, err)
	}
	return s
}

var exactStack = regexp.MustCompile(`^(elasticsearch|kibana):(8\.19\.\d+)$`)

func TestComposeFile(t *testing.T) {
	for _, variant := range []struct {
		name  string
		env   []string
		files []string
	}{
		{"demo", nil, []string{"docker-compose.yml"}},
		{"secure", secureEnv, []string{"docker-compose.yml", "examples/efk/docker-compose.secure.yml"}},
	} {
		t.Run(variant.name, func(t *testing.T) {
			p := loadCompose(t, variant.env, variant.files...)
			secure := variant.name == "secure"
			root := repoRoot(t)

			want := []string{"elasticsearch", "kibana", "setup", "generator", "fluent-bit"}
			if secure {
				want = append(want, "secure-init")
			}
			for _, name := range want {
				s := service(t, p, name)
				if s.MemLimit <= 0 {
					t.Errorf("%s: no mem_limit", name)
				}
			}
			if len(p.Services) != len(want) {
				t.Errorf("services %v, want %v", p.ServiceNames(), want)
			}

			// Elasticsearch and Kibana: the same exact 8.19 patch, pinned.
			es, kb := service(t, p, "elasticsearch"), service(t, p, "kibana")
			esm, kbm := exactStack.FindStringSubmatch(es.Image), exactStack.FindStringSubmatch(kb.Image)
			if esm == nil || kbm == nil || esm[2] != kbm[2] {
				t.Errorf("images %q and %q: want elasticsearch and kibana at the same exact 8.19.x version", es.Image, kb.Image)
			}
			for _, s := range []types.ServiceConfig{es, kb} {
				if s.HealthCheck == nil || s.HealthCheck.Disable || len(s.HealthCheck.Test) < 2 ||
					s.HealthCheck.Interval == nil || s.HealthCheck.Retries == nil || s.HealthCheck.StartPeriod == nil {
					t.Errorf("%s: healthcheck %+v needs test, interval, retries and start_period", s.Name, s.HealthCheck)
				}
			}
			if got := es.Environment["discovery.type"]; got == nil || *got != "single-node" {
				t.Errorf("elasticsearch: discovery.type %v", got)
			}
			if got := es.Environment["xpack.security.enabled"]; got == nil || *got != strconv.FormatBool(secure) {
				t.Errorf("elasticsearch: xpack.security.enabled = %v, want %v", deref(got), secure)
			}
			if javaOpts := es.Environment["ES_JAVA_OPTS"]; javaOpts == nil || !heapFits(*javaOpts, int64(es.MemLimit)) {
				t.Errorf("elasticsearch: ES_JAVA_OPTS %v must set -Xms = -Xmx at most half of mem_limit %d", deref(javaOpts), es.MemLimit)
			}
			if secure {
				if got := kb.Environment["ELASTICSEARCH_USERNAME"]; got == nil || *got != "kibana_system" {
					t.Errorf("kibana: ELASTICSEARCH_USERNAME %v, want kibana_system", deref(got))
				}
			}

			// Ports only on the loopback: the demo has no security.
			for _, s := range p.Services {
				for _, port := range s.Ports {
					if port.HostIP != "127.0.0.1" {
						t.Errorf("%s: port %d published on %q, want 127.0.0.1", s.Name, port.Target, port.HostIP)
					}
				}
			}

			// Start order.
			dep := func(from, to, cond string) {
				t.Helper()
				d, ok := service(t, p, from).DependsOn[to]
				if !ok || d.Condition != cond {
					t.Errorf("%s depends_on %s: %+v, want condition %s", from, to, d, cond)
				}
			}
			dep("kibana", "elasticsearch", types.ServiceConditionHealthy)
			dep("setup", "elasticsearch", types.ServiceConditionHealthy)
			dep("setup", "kibana", types.ServiceConditionHealthy)
			dep("fluent-bit", "setup", types.ServiceConditionCompletedSuccessfully)
			if secure {
				dep("secure-init", "elasticsearch", types.ServiceConditionHealthy)
				dep("kibana", "secure-init", types.ServiceConditionCompletedSuccessfully)
			}

			// The one-shot setup.
			setup := service(t, p, "setup")
			cmd := strings.Join(setup.Command, " ")
			for _, w := range []string{"setup", "--index-template", "--dashboards", "--kibana-url=http://kibana:5601", "--url=http://elasticsearch:9200"} {
				if !strings.Contains(cmd, w) {
					t.Errorf("setup command %q lacks %q", cmd, w)
				}
			}
			if secure && (deref(setup.Environment["ES_USER"]) != "elastic" || deref(setup.Environment["ES_PASSWORD"]) != "elastic-pw") {
				t.Errorf("secure: setup environment %v, want ES_USER=elastic and ES_PASSWORD from $ELASTIC_PASSWORD", setup.Environment)
			}
			if setup.Restart != "no" {
				t.Errorf("setup restart %q, want no (one-shot)", setup.Restart)
			}

			// Built services: context and Dockerfile exist, target is a stage.
			df := readDockerfile(t)
			for _, name := range []string{"setup", "generator", "fluent-bit"} {
				s := service(t, p, name)
				if s.Build == nil {
					t.Fatalf("%s: not built", name)
				}
				if s.Build.Context != root {
					t.Errorf("%s: build context %s, want the repository root", name, s.Build.Context)
				}
				if _, err := os.Stat(filepath.Join(s.Build.Context, s.Build.Dockerfile)); err != nil {
					t.Errorf("%s: dockerfile: %v", name, err)
				}
				if _, ok := df.Stage(s.Build.Target); !ok {
					t.Errorf("%s: target %q is not a stage of the Dockerfile", name, s.Build.Target)
				}
			}

			// The generator and Fluent Bit share the journal; Fluent Bit
			// only reads it and keeps its state on a volume.
			fb, gen := service(t, p, "fluent-bit"), service(t, p, "generator")
			if strings.Join(gen.Entrypoint, " ") != "/usr/local/bin/nri-audit-generator" || gen.Build == nil || gen.Build.Target != "tools" {
				t.Errorf("generator runs %v from target %v, want the tools image's /usr/local/bin/nri-audit-generator", gen.Entrypoint, gen.Build)
			}
			genDir, fbDir := mountOf(gen, "journal"), mountOf(fb, "journal")
			if genDir == nil || fbDir == nil || genDir.ReadOnly || !fbDir.ReadOnly {
				t.Errorf("journal volume: generator %+v, fluent-bit %+v (want shared, read-only for Fluent Bit)", genDir, fbDir)
			}
			env := map[string]string{}
			for k, v := range fb.Environment {
				env[k] = deref(v)
			}
			if fbDir != nil && env["NRI_AUDIT_JOURNAL_PATH"] != fbDir.Target {
				t.Errorf("fluent-bit reads %q, the journal volume is at %q", env["NRI_AUDIT_JOURNAL_PATH"], fbDir.Target)
			}
			if genDir != nil && deref(gen.Environment["NRI_AUDIT_JOURNAL_DIR"]) != genDir.Target {
				t.Errorf("generator writes %q, the journal volume is at %q", deref(gen.Environment["NRI_AUDIT_JOURNAL_DIR"]), genDir.Target)
			}
			if st := mountOf(fb, "flbstate"); st == nil || st.ReadOnly || st.Target != env["NRI_AUDIT_STATE_DIR"] {
				t.Errorf("fluent-bit state volume %+v, NRI_AUDIT_STATE_DIR %q", st, env["NRI_AUDIT_STATE_DIR"])
			}
			if !strings.HasPrefix(env["NRI_AUDIT_ES_URL"], "http://elasticsearch:9200") {
				t.Errorf("fluent-bit NRI_AUDIT_ES_URL %q", env["NRI_AUDIT_ES_URL"])
			}
			if secure && env["NRI_AUDIT_ES_USER"] == "" {
				t.Error("secure: fluent-bit has no Elasticsearch user")
			}
			// The image's config runs with the compose environment.
			cfg := checkImageFluentBitConfig(t, env)
			if secure {
				if c, err := efktest.CheckNRIAuditOutput(nriAuditOutput(t, cfg)); err != nil || c.ES.User != "nri_audit_writer" {
					t.Errorf("secure: nri_audit output user %q: %v", c.ES.User, err)
				}
			}
		})
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

var heapFlag = regexp.MustCompile(`-Xm([sx])(\d+)([gGmM])`)

// heapFits reports whether -Xms equals -Xmx and is at most half of limit.
func heapFits(opts string, limit int64) bool {
	sizes := map[string]int64{}
	for _, m := range heapFlag.FindAllStringSubmatch(opts, -1) {
		n, _ := strconv.ParseInt(m[2], 10, 64)
		unit := int64(1 << 20)
		if strings.EqualFold(m[3], "g") {
			unit = 1 << 30
		}
		sizes[m[1]] = n * unit
	}
	return sizes["s"] > 0 && sizes["s"] == sizes["x"] && 2*sizes["x"] <= limit
}

func mountOf(s types.ServiceConfig, volume string) *types.ServiceVolumeConfig {
	for i := range s.Volumes {
		if s.Volumes[i].Type == types.VolumeTypeVolume && s.Volumes[i].Source == volume {
			return &s.Volumes[i]
		}
	}
	return nil
}

// TestComposeRejectsBrokenFiles makes sure the loader used above does
// reject what docker compose would: the check is only worth something if
// it can fail.
func TestComposeRejectsBrokenFiles(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"unknown key":       "services:\n  a:\n    image: x\n    helthcheck: {test: [CMD, true]}\n",
		"bad condition":     "services:\n  a:\n    image: x\n    depends_on: {b: {condition: service_ready}}\n  b:\n    image: x\n",
		"missing dependent": "services:\n  a:\n    image: x\n    depends_on: {b: {condition: service_healthy}}\n",
	} {
		t.Run(name, func(t *testing.T) {
			f := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".yml")
			if err := os.WriteFile(f, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			opts, err := cli.NewProjectOptions([]string{f}, cli.WithWorkingDirectory(dir), cli.WithName("x"), cli.WithConsistency(true))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := opts.LoadProject(context.Background()); err == nil {
				t.Error("loaded without error")
			}
		})
	}
}
