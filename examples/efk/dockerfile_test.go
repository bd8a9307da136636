package efk_test

import (
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/nri-audit/nri-audit/examples/efk/efktest"
)

const dockerfilePath = "examples/efk/Dockerfile"

func readDockerfile(t *testing.T) *efktest.Dockerfile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), dockerfilePath))
	if err != nil {
		t.Fatal(err)
	}
	d, err := efktest.ParseDockerfile(b)
	if err != nil {
		t.Fatalf("%s: %v", dockerfilePath, err)
	}
	return d
}

// glibc of the Debian releases images are built on.
var debianGlibc = map[string]string{"bullseye": "2.31", "bookworm": "2.36", "trixie": "2.41"}

// glibc of official fluent/fluent-bit images (distroless cc-debian13 from
// 4.1 on). A new pin must be added here after checking its base image:
// that is the point of the test.
var fluentBitGlibc = map[string]string{"5.1.1": "2.41", "5.1.0": "2.41", "5.0.0": "2.41"}

// versionLE compares dotted numeric versions.
func versionLE(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) || i < len(bs); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x < y
		}
	}
	return true
}

var (
	goImageRE = regexp.MustCompile(`^golang:(\d+\.\d+\.\d+)-(bullseye|bookworm|trixie)$`)
	fbImageRE = regexp.MustCompile(`^fluent/fluent-bit:(\d+\.\d+\.\d+)$`)
	debianRE  = regexp.MustCompile(`^debian:(bullseye|bookworm|trixie)(-slim)?(-\d{8})?$`)
	goModRE   = regexp.MustCompile(`(?m)^go (\d+\.\d+(?:\.\d+)?)\s*$`)
)

func TestDockerfile(t *testing.T) {
	root := repoRoot(t)
	d := readDockerfile(t)

	// Pinned images and the glibc rule.
	goImg := goImageRE.FindStringSubmatch(d.Args["GO_IMAGE"])
	fbImg := fbImageRE.FindStringSubmatch(d.Args["FLUENT_BIT_IMAGE"])
	toolsImg := debianRE.FindStringSubmatch(d.Args["TOOLS_IMAGE"])
	if goImg == nil || fbImg == nil || toolsImg == nil {
		t.Fatalf("ARGs GO_IMAGE=%q FLUENT_BIT_IMAGE=%q TOOLS_IMAGE=%q: want golang:X.Y.Z-<debian>, fluent/fluent-bit:X.Y.Z, debian:<release>[-slim]",
			d.Args["GO_IMAGE"], d.Args["FLUENT_BIT_IMAGE"], d.Args["TOOLS_IMAGE"])
	}
	buildGlibc := debianGlibc[goImg[2]]
	fbGlibc, known := fluentBitGlibc[fbImg[1]]
	if !known {
		t.Fatalf("fluent/fluent-bit:%s: glibc of its base image unknown; add it to fluentBitGlibc after checking", fbImg[1])
	}
	if !versionLE(buildGlibc, fbGlibc) {
		t.Errorf("the plugin is built on glibc %s (%s) but Fluent Bit %s runs on glibc %s: dlopen would fail", buildGlibc, goImg[2], fbImg[1], fbGlibc)
	}
	if !versionLE(buildGlibc, debianGlibc[toolsImg[1]]) {
		t.Errorf("nri-audit is built on glibc %s but the tools image %s has %s", buildGlibc, toolsImg[0], debianGlibc[toolsImg[1]])
	}
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if m := goModRE.FindSubmatch(gomod); m == nil || !versionLE(string(m[1]), goImg[1]) {
		t.Errorf("go.mod wants go %s, the build image has %s", m[1], goImg[1])
	}

	build, ok1 := d.Stage("build")
	fb, ok2 := d.Stage("fluent-bit")
	tools, ok3 := d.Stage("tools")
	if !ok1 || !ok2 || !ok3 {
		t.Fatalf("stages %v: want build, fluent-bit and tools", d.Stages)
	}
	if build.Image != d.Args["GO_IMAGE"] || fb.Image != d.Args["FLUENT_BIT_IMAGE"] || tools.Image != d.Args["TOOLS_IMAGE"] {
		t.Errorf("FROM lines do not use the pinned ARGs: %s, %s, %s", build.Image, fb.Image, tools.Image)
	}
	var runs strings.Builder
	for _, in := range build.Instr {
		if in.Cmd == "RUN" {
			runs.WriteString(strings.Join(in.Args, " ") + "\n")
		}
	}
	for _, w := range []string{"-buildmode=c-shared -o /out/out_nri_audit.so ./plugin", "-o /out/nri-audit ./cmd/nri-audit",
		"-o /out/nri-audit-demogen ./examples/efk/cmd/nri-audit-demogen", "libsystemd-dev"} {
		if !strings.Contains(runs.String(), w) {
			t.Errorf("build stage does not run %q", w)
		}
	}

	// COPY sources exist in the context (the repository root) and are not
	// excluded by the .dockerignore; --from stages exist and made them.
	ignore := readDockerignore(t)
	stageRuns := map[string]string{"build": runs.String()}
	for si, st := range d.Stages {
		for _, in := range st.Instr {
			if in.Cmd != "COPY" && in.Cmd != "ADD" {
				continue
			}
			if len(in.Args) < 2 {
				t.Errorf("line %d: %s needs a source and a destination", in.Line, in.Cmd)
				continue
			}
			srcs := in.Args[:len(in.Args)-1]
			if from := in.Flag("from"); from != "" {
				earlier := false
				for _, prev := range d.Stages[:si] {
					earlier = earlier || prev.Name == from
				}
				if !earlier {
					t.Errorf("line %d: COPY --from=%s: no earlier stage of that name", in.Line, from)
				}
				for _, s := range srcs {
					if !strings.Contains(stageRuns[from], s) {
						t.Errorf("line %d: COPY --from=%s %s: no RUN of that stage makes it", in.Line, from, s)
					}
				}
				continue
			}
			for _, s := range srcs {
				matches, err := filepath.Glob(filepath.Join(root, s))
				if err != nil || len(matches) == 0 {
					t.Errorf("line %d: %s source %q does not exist in the build context", in.Line, in.Cmd, s)
				}
				if s != "." && ignored(ignore, s) {
					t.Errorf("line %d: %s source %q is excluded by %s.dockerignore", in.Line, in.Cmd, s, dockerfilePath)
				}
			}
		}
	}
	for _, must := range []string{"go.mod", "go.sum", "plugin/main.go", "cmd/nri-audit/main.go", "examples/efk/fluent-bit/fluent-bit.yaml"} {
		if ignored(ignore, must) {
			t.Errorf("%s is excluded from the build context", must)
		}
	}

	// The Fluent Bit stage: the .so lands where the config loads it from,
	// the config where CMD points, and ENV defines the config's variables.
	so := copyDest(t, fb, "/out/out_nri_audit.so")
	conf := copyDest(t, fb, "examples/efk/fluent-bit/fluent-bit.yaml")
	var entry, cmd []string
	for _, in := range fb.Instr {
		switch in.Cmd {
		case "ENTRYPOINT":
			entry = in.Args
		case "CMD":
			cmd = in.Args
		}
	}
	if strings.Join(entry, " ") != "/fluent-bit/bin/fluent-bit" || strings.Join(cmd, " ") != "-c "+conf {
		t.Errorf("fluent-bit stage runs %v %v, want /fluent-bit/bin/fluent-bit -c %s", entry, cmd, conf)
	}
	cfg := checkImageFluentBitConfig(t, nil)
	if len(cfg.Plugins) != 1 || cfg.Plugins[0] != so {
		t.Errorf("config loads plugins %v, the image has the .so at %s", cfg.Plugins, so)
	}

	// The tools stage: nri-audit and the generator script.
	copyDest(t, tools, "/out/nri-audit")
	copyDest(t, tools, "/out/nri-audit-demogen")
	gen := copyDest(t, tools, "examples/efk/generator.sh")
	if gen != "/usr/local/bin/nri-audit-generator" {
		t.Errorf("generator installed at %s", gen)
	}
	st, err := os.Stat(filepath.Join(root, "examples/efk/generator.sh"))
	if err != nil || st.Mode()&0o111 == 0 {
		t.Errorf("examples/efk/generator.sh must exist and be executable (%v)", err)
	}
}

// copyDest returns where a stage copies src to.
func copyDest(t *testing.T, st *efktest.Stage, src string) string {
	t.Helper()
	for _, in := range st.Instr {
		if in.Cmd == "COPY" && len(in.Args) == 2 && in.Args[0] == src {
			return in.Args[1]
		}
	}
	t.Errorf("stage %s does not COPY %s", st.Name, src)
	return ""
}

// imageEnv is the ENV of the Dockerfile's fluent-bit stage.
func imageEnv(t *testing.T) map[string]string {
	t.Helper()
	fb, ok := readDockerfile(t).Stage("fluent-bit")
	if !ok {
		t.Fatal("no fluent-bit stage")
	}
	env := map[string]string{}
	for _, in := range fb.Instr {
		if in.Cmd != "ENV" {
			continue
		}
		for _, kv := range in.Args {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				t.Fatalf("line %d: ENV %q: use KEY=value", in.Line, kv)
			}
			env[k] = v
		}
	}
	return env
}

// checkImageFluentBitConfig checks the Fluent Bit configuration baked into
// the image with its ENV defaults, overridden by override (e.g. a compose
// service's environment).
func checkImageFluentBitConfig(t *testing.T, override map[string]string) *efktest.FluentBitConfig {
	t.Helper()
	env := imageEnv(t)
	for k, v := range override {
		env[k] = v
	}
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "examples/efk/fluent-bit/fluent-bit.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := efktest.ParseFluentBitYAML(b, env)
	if err != nil {
		t.Fatalf("examples/efk/fluent-bit/fluent-bit.yaml: %v", err)
	}
	checkJournalInput(t, cfg, env["NRI_AUDIT_STATE_DIR"])
	if _, err := efktest.CheckNRIAuditOutput(nriAuditOutput(t, cfg)); err != nil {
		t.Errorf("examples/efk/fluent-bit/fluent-bit.yaml: %v", err)
	}
	if !strings.HasPrefix(cfg.Service["storage.path"], env["NRI_AUDIT_STATE_DIR"]+"/") {
		t.Errorf("storage.path %q is not under the state directory %q", cfg.Service["storage.path"], env["NRI_AUDIT_STATE_DIR"])
	}
	return cfg
}

// checkJournalInput requires one systemd input reading containerd and
// CRI-O, with its cursor DB under stateDir.
func checkJournalInput(t *testing.T, cfg *efktest.FluentBitConfig, stateDir string) efktest.Section {
	t.Helper()
	var in *efktest.Section
	for i := range cfg.Inputs {
		if cfg.Inputs[i].Name == "systemd" {
			if in != nil {
				t.Error("two systemd inputs")
			}
			in = &cfg.Inputs[i]
		}
	}
	if in == nil {
		t.Fatal("no systemd input")
	}
	filters := strings.Join(in.Props["systemd_filter"], " ")
	if filters != "SYSLOG_IDENTIFIER=containerd SYSLOG_IDENTIFIER=crio SYSLOG_IDENTIFIER=nri-audit" || in.Get("systemd_filter_type") != "or" {
		t.Errorf("systemd input filters %q (type %q), want containerd, crio and nri-audit (the validator), or-ed", filters, in.Get("systemd_filter_type"))
	}
	if db := in.Get("db"); stateDir == "" || path.Dir(db) != stateDir {
		t.Errorf("systemd input db %q is not in the state directory %q", db, stateDir)
	}
	if in.Get("storage.type") != "filesystem" {
		t.Errorf("systemd input storage.type %q, want filesystem (the cursor is saved before the output flushed)", in.Get("storage.type"))
	}
	// The output matches the input's tag.
	out := nriAuditOutput(t, cfg)
	if m, tag := out.Get("match"), in.Get("tag"); m == "" || !tagMatches(m, strings.ReplaceAll(tag, "*", "containerd.service")) {
		t.Errorf("output match %q does not take the input's tag %q", m, tag)
	}
	return *in
}

func tagMatches(pattern, tag string) bool {
	ok, _ := path.Match(pattern, tag)
	return ok
}

func nriAuditOutput(t *testing.T, cfg *efktest.FluentBitConfig) efktest.Section {
	t.Helper()
	pluginName := registeredPluginName(t)
	var found []efktest.Section
	for _, o := range cfg.Outputs {
		if o.Name == pluginName {
			found = append(found, o)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d outputs named %s, want 1", len(found), pluginName)
	}
	if w := found[0].Get("workers"); w != "1" {
		t.Errorf("nri_audit output workers %q, want 1 (keeps the blocking Go flush off the engine thread)", w)
	}
	return found[0]
}

var pluginNameRE = regexp.MustCompile(`pluginName\s*=\s*"([^"]+)"`)

// registeredPluginName reads the output name the plugin registers.
func registeredPluginName(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "plugin", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	m := pluginNameRE.FindSubmatch(b)
	if m == nil {
		t.Fatal("plugin/main.go: no pluginName constant")
	}
	return string(m[1])
}

func readDockerignore(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), dockerfilePath+".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	var pats []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			pats = append(pats, l)
		}
	}
	return pats
}

// ignored reports whether a context path (or a parent directory) matches a
// .dockerignore pattern; "**/" matches any number of directories.
func ignored(patterns []string, p string) bool {
	parts := strings.Split(path.Clean(p), "/")
	for i := 1; i <= len(parts); i++ {
		prefix := strings.Join(parts[:i], "/")
		for _, pat := range patterns {
			if strings.HasPrefix(pat, "!") {
				continue
			}
			if ok, _ := path.Match(pat, prefix); ok {
				return true
			}
			if rest, ok := strings.CutPrefix(pat, "**/"); ok {
				for j := 0; j < i; j++ {
					if m, _ := path.Match(rest, strings.Join(parts[j:i], "/")); m {
						return true
					}
				}
			}
		}
	}
	return false
}
