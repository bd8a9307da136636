package flbhost

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
)

//go:embed host.c
var hostSource []byte

// Source returns host.c.
func Source() []byte { return append([]byte(nil), hostSource...) }

// ABI selects the struct layout the host is compiled with.
type ABI int

const (
	// ABINew is Fluent Bit 5.1.1: a calloc'd 48-byte definition.
	ABINew ABI = iota
	// ABIOld is Fluent Bit <= 4.2.2: a malloc'd 32-byte definition with
	// canary bytes after it, to catch plugins that write event_type.
	ABIOld
)

// BuildHost compiles host.c into dir and returns the binary's path:
// cc -O1 -g -Wall -o <dir>/flbhost host.c -ldl -lpthread (plus
// -DFLB_ABI_OLD for ABIOld). CC overrides the compiler.
func BuildHost(ctx context.Context, dir string, abi ABI) (string, error) {
	src := filepath.Join(dir, "host.c")
	if err := os.WriteFile(src, hostSource, 0o644); err != nil {
		return "", fmt.Errorf("flbhost: %w", err)
	}
	name := "flbhost"
	args := []string{"-O1", "-g", "-Wall"}
	if abi == ABIOld {
		name = "flbhost-old"
		args = append(args, "-DFLB_ABI_OLD")
	}
	bin := filepath.Join(dir, name)
	args = append(args, "-o", bin, src, "-ldl", "-lpthread")
	cc := os.Getenv("CC")
	if cc == "" {
		cc = "cc"
	}
	cmd := exec.CommandContext(ctx, cc, args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("flbhost: %s %s: %v\n%s", cc, strings.Join(args, " "), err, out)
	}
	return bin, nil
}

// RepoRoot is the module root, found from this file's location.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// EnvPlugin names a prebuilt out_nri_audit.so that BuildPlugin uses instead
// of building one (e.g. the output of make plugin).
const EnvPlugin = "NRI_AUDIT_PLUGIN_SO"

// BuildPlugin builds the plugin package pkg (e.g. "./plugin") of the
// module as a c-shared object into dir and returns its absolute path.
func BuildPlugin(ctx context.Context, dir, pkg string) (string, error) {
	if p := os.Getenv(EnvPlugin); p != "" {
		return filepath.Abs(p)
	}
	out, err := filepath.Abs(filepath.Join(dir, "out_nri_audit.so"))
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-buildmode=c-shared", "-trimpath", "-o", out, pkg)
	cmd.Dir = RepoRoot()
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("flbhost: go build -buildmode=c-shared %s: %v\n%s", pkg, err, b)
	}
	return out, nil
}

// Scenario is what the host runs; Write renders the file host.c reads.
type Scenario struct {
	Plugin      string // absolute path of the .so
	StackSize   int    // coroutine stack bytes; 0 = 24 KiB
	Cycles      int    // load cycles; > 1 means hot reloads; 0 = 1
	RetryWaitMS int    // delay before re-delivering a RETRY'd chunk
	RSSEvery    int    // report RSS every N flushes
	Outputs     []Output
}

// Output is one [OUTPUT] section.
type Output struct {
	Name   string      // "nri_audit" unless set
	Props  [][2]string // in order; core keys (Workers, Retry_Limit, Match...) included
	Chunks []Chunk
	Tag    string
	// NullCtx makes the host flush with a NULL context, as Fluent Bit does
	// for an instance whose Init never called FLBPluginSetContext.
	NullCtx bool
}

// Chunk is a chunk file delivered Repeat times (each a separate task).
type Chunk struct {
	Path   string
	Repeat int
}

// Set appends a property.
func (o *Output) Set(key, value string) *Output {
	o.Props = append(o.Props, [2]string{key, value})
	return o
}

// Render returns the scenario file text.
func (s *Scenario) Render() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "plugin %s\n", s.Plugin)
	if s.StackSize > 0 {
		fmt.Fprintf(&b, "stack_size %d\n", s.StackSize)
	}
	if s.Cycles > 0 {
		fmt.Fprintf(&b, "cycles %d\n", s.Cycles)
	}
	fmt.Fprintf(&b, "retry_wait_ms %d\n", s.RetryWaitMS)
	if s.RSSEvery > 0 {
		fmt.Fprintf(&b, "rss_every %d\n", s.RSSEvery)
	}
	for _, o := range s.Outputs {
		b.WriteString("[OUTPUT]\n")
		name := o.Name
		if name == "" {
			name = "nri_audit"
		}
		fmt.Fprintf(&b, "    Name %s\n", name)
		for _, p := range o.Props {
			fmt.Fprintf(&b, "    %s %s\n", p[0], p[1])
		}
		if o.NullCtx {
			b.WriteString("    @null_ctx\n")
		}
		if o.Tag != "" {
			fmt.Fprintf(&b, "    @tag %s\n", o.Tag)
		}
		for _, c := range o.Chunks {
			r := c.Repeat
			if r <= 0 {
				r = 1
			}
			fmt.Fprintf(&b, "    @chunk %s %d\n", c.Path, r)
		}
	}
	return b.Bytes()
}

// Line is one result line of the host: a kind and key=value fields.
type Line struct {
	Kind   string
	Fields map[string]string
	Raw    string
}

// Get returns a field.
func (l Line) Get(k string) string { return l.Fields[k] }

// Int returns a field as an integer (-1 if absent or not a number).
func (l Line) Int(k string) int {
	n, err := strconv.Atoi(l.Fields[k])
	if err != nil {
		return -1
	}
	return n
}

// Float returns a field as a float (-1 if absent or not a number).
func (l Line) Float(k string) float64 {
	f, err := strconv.ParseFloat(l.Fields[k], 64)
	if err != nil {
		return -1
	}
	return f
}

// ParseLine splits a host line.
func ParseLine(s string) Line {
	parts := strings.Fields(s)
	l := Line{Fields: map[string]string{}, Raw: s}
	if len(parts) == 0 {
		return l
	}
	l.Kind = parts[0]
	for _, p := range parts[1:] {
		if k, v, ok := strings.Cut(p, "="); ok {
			l.Fields[k] = v
		}
	}
	return l
}

// Result is a finished host run.
type Result struct {
	Lines    []Line
	Stderr   string // the plugin's log
	ExitCode int
}

// Of returns the lines of one kind.
func (r *Result) Of(kind string) []Line {
	var out []Line
	for _, l := range r.Lines {
		if l.Kind == kind {
			out = append(out, l)
		}
	}
	return out
}

// String renders the lines for failure messages.
func (r *Result) String() string {
	var b strings.Builder
	for _, l := range r.Lines {
		b.WriteString(l.Raw)
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "exit %d\n--- plugin stderr ---\n%s", r.ExitCode, r.Stderr)
	return b.String()
}

// Run writes the scenario into dir and runs host on it. onLine, if not
// nil, sees every line as it is printed (from another goroutine), so a
// test can act while the host runs. A non-zero exit is not an error: it is
// in Result.ExitCode.
func Run(ctx context.Context, host, dir string, s *Scenario, env []string, onLine func(Line)) (*Result, error) {
	path := filepath.Join(dir, "scenario.conf")
	if err := os.WriteFile(path, s.Render(), 0o644); err != nil {
		return nil, fmt.Errorf("flbhost: %w", err)
	}
	cmd := exec.CommandContext(ctx, host, path)
	cmd.Env = append(append(os.Environ(), "GOTRACEBACK=crash"), env...)
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("flbhost: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("flbhost: start: %w", err)
	}
	res := &Result{}
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		l := ParseLine(sc.Text())
		res.Lines = append(res.Lines, l)
		if onLine != nil {
			onLine(l)
		}
	}
	_, _ = io.Copy(io.Discard, stdout)
	err = cmd.Wait()
	res.Stderr = stderr.String()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit) && exit.Exited():
		res.ExitCode = exit.ExitCode()
	case err != nil:
		return res, fmt.Errorf("flbhost: %v (the host crashed?)\n%s", err, res)
	}
	return res, nil
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
