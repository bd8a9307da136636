package flbhost

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A C plugin that misbehaves on purpose: it writes event_type (4 bytes at
// offset 32) like fluent-bit-go >= bda21e6, and returns what the env says
// from flush. The host must catch the overrun of the 32-byte definition of
// Fluent Bit <= 4.2.2 and accept the same plugin with the 5.1.1 layout.
const badPlugin = `
#include <stdlib.h>
#include <string.h>
struct def { int type; int proxy; int flags; char *name; char *description; };
int FLBPluginRegister(struct def *d) {
    d->type = 2; d->proxy = 11; d->flags = 0;
    d->name = strdup("bad"); d->description = strdup("test");
    *(int *)((char *)d + 32) = 0; /* event_type */
    return 0;
}
struct ctx { void *remote; };
struct plugin { char *name; void *api; void *o_ins; struct ctx *context; };
static char mark;
int FLBPluginInit(struct plugin *p) { p->context->remote = &mark; return 1; }
int FLBPluginFlushCtx(void *ctx, const void *d, size_t n, char *tag) {
    const char *rc = getenv("BAD_RC");
    return ctx == &mark && n > 0 ? (rc ? atoi(rc) : 1) : 0;
}
int FLBPluginExitCtx(void *ctx) { return ctx == &mark; }
`

func buildCPlugin(t *testing.T, name string) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "bad.c")
	if err := os.WriteFile(src, []byte(badPlugin), 0o644); err != nil {
		t.Fatal(err)
	}
	so := filepath.Join(dir, name)
	if out, err := exec.Command("cc", "-shared", "-fPIC", "-o", so, src).CombinedOutput(); err != nil {
		t.Fatalf("cc: %v\n%s", err, out)
	}
	return so
}

func chunkFile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "c.bin")
	if err := os.WriteFile(p, []byte{0x92, 0x92, 0xd7, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0x80, 0x80}, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestHostCatchesDefinitionOverrun(t *testing.T) {
	dir := t.TempDir()
	oldHost, err := BuildHost(t.Context(), dir, ABIOld)
	if err != nil {
		t.Fatal(err)
	}
	newHost, err := BuildHost(t.Context(), dir, ABINew)
	if err != nil {
		t.Fatal(err)
	}
	so := buildCPlugin(t, "out_bad.so")
	s := &Scenario{Plugin: so, Outputs: []Output{{Name: "bad", Chunks: []Chunk{{Path: chunkFile(t), Repeat: 2}}}}}

	res, err := Run(t.Context(), oldHost, t.TempDir(), s, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 3 || len(res.Of("register")) != 1 || res.Of("register")[0].Get("canary") != "clobbered" {
		t.Fatalf("old ABI host did not catch the overrun\n%s", res)
	}

	res, err = Run(t.Context(), newHost, t.TempDir(), s, []string{"BAD_RC=7"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 0 || res.Of("register")[0].Get("canary") != "intact" {
		t.Fatalf("new ABI host\n%s", res)
	}
	// Any code but 0/1/2 is FLB_ERROR, as proxy_cb_flush maps it.
	for _, l := range res.Of("flush") {
		if l.Get("rc") != "7" || l.Get("result") != "ERROR" {
			t.Fatalf("flush line %s", l.Raw)
		}
	}
	if ex := res.Of("exit"); len(ex) != 1 || ex[0].Get("rc") != "1" {
		t.Fatalf("exit\n%s", res)
	}
}

func TestHostRetriesIdenticalBytesUpToTheLimit(t *testing.T) {
	host, err := BuildHost(t.Context(), t.TempDir(), ABINew)
	if err != nil {
		t.Fatal(err)
	}
	so := buildCPlugin(t, "out_bad.so")
	o := Output{Name: "BAD", Chunks: []Chunk{{Path: chunkFile(t)}}}
	o.Set("Retry_Limit", "2")
	res, err := Run(t.Context(), host, t.TempDir(), &Scenario{Plugin: so, Cycles: 2, Outputs: []Output{o}}, []string{"BAD_RC=2"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Per cycle: attempts 1, 2, 3 (Retry_Limit 2), then retry_exhausted.
	if n := len(res.Of("flush")); n != 6 || len(res.Of("retry_exhausted")) != 2 {
		t.Fatalf("flushes %d\n%s", n, res)
	}
	if pre := res.Of("preregister"); len(pre) != 0 {
		t.Fatalf("the C plugin exports no PreRegister: %v", pre)
	}
	if l := res.Of("load"); len(l) != 2 {
		t.Fatalf("load lines %d", len(l))
	}
}

func TestHostRefusesFlbPrefix(t *testing.T) {
	host, err := BuildHost(t.Context(), t.TempDir(), ABINew)
	if err != nil {
		t.Fatal(err)
	}
	so := buildCPlugin(t, "flb-out_bad.so")
	res, err := Run(t.Context(), host, t.TempDir(), &Scenario{Plugin: so, Outputs: []Output{{Name: "bad"}}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 3 || !strings.Contains(res.Of("fatal")[0].Raw, "flb-") {
		t.Fatalf("%s", res)
	}
}

func TestParseLine(t *testing.T) {
	l := ParseLine("flush cycle=1 instance=0 rc=2 result=RETRY ms=12.5")
	if l.Kind != "flush" || l.Int("rc") != 2 || l.Get("result") != "RETRY" || l.Float("ms") != 12.5 || l.Int("nope") != -1 {
		t.Fatalf("%+v", l)
	}
}

// A C plugin that prints what output_get_property returns at Init for the
// keys in PROBE_KEYS (comma-separated).
const probePlugin = `
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
struct def { int type; int proxy; int flags; char *name; char *description; };
struct api { const char *(*output_get_property)(const char *, void *); };
struct ctx { void *remote; };
struct plugin { char *name; struct api *api; void *o_ins; struct ctx *context; };
static char mark;
int FLBPluginRegister(struct def *d) {
    d->type = 2; d->proxy = 11; d->flags = 0;
    d->name = strdup("probe"); d->description = strdup("test");
    return 0;
}
int FLBPluginInit(struct plugin *p) {
    char *keys = strdup(getenv("PROBE_KEYS"));
    for (char *k = strtok(keys, ","); k; k = strtok(NULL, ",")) {
        const char *v = p->api->output_get_property(k, p->o_ins);
        fprintf(stderr, "probe %s=%s\n", k, v ? v : "<NULL>");
    }
    free(keys);
    p->context->remote = &mark;
    return 1;
}
int FLBPluginFlushCtx(void *ctx, const void *d, size_t n, char *tag) { return 1; }
int FLBPluginExitCtx(void *ctx) { return ctx == &mark; }
`

// The keys flb_output_set_property consumes are invisible to the plugin,
// whatever their case; look-alike keys, empty values and ${ENV} behave as
// in Fluent Bit (case-insensitive lookup, empty = NULL).
func TestHostHidesCoreKeysOnly(t *testing.T) {
	host, err := BuildHost(t.Context(), t.TempDir(), ABINew)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "probe.c")
	if err := os.WriteFile(src, []byte(probePlugin), 0o644); err != nil {
		t.Fatal(err)
	}
	so := filepath.Join(dir, "out_probe.so")
	if out, err := exec.Command("cc", "-shared", "-fPIC", "-o", so, src).CombinedOutput(); err != nil {
		t.Fatalf("cc: %v\n%s", err, out)
	}
	hidden := [][2]string{
		{"Match", "nri.*"}, {"MATCH_REGEX", "^nri"}, {"Alias", "a"}, {"Log_Level", "debug"},
		{"log_suppress_interval", "5s"}, {"Host", "es"}, {"PORT", "9200"}, {"IPv6", "on"},
		{"Retry_Limit", "3"}, {"TLS", "on"}, {"tls.verify", "off"}, {"TLS.CA_File", "/ca.pem"},
		{"net.keepalive", "off"}, {"Net.Connect_Timeout", "5"}, {"storage.total_limit_size", "2G"},
		{"Workers", "1"}, {"oauth2.enable", "on"}, {"Routes", "r"},
	}
	visible := [][2]string{
		{"URL", "http://es:9200"}, {"hostname", "h"}, {"tls_ca", "t"}, {"oauth2_token", "o"},
		{"network", "n"}, {"matches", "m"}, {"storage.type", "filesystem"}, {"workers_extra", "w"},
		{"pipeline", "${PROBE_ENV}"}, {"index", ""}, {"api_key", "${PROBE_UNSET}"},
	}
	o := Output{Name: "probe"}
	var keys []string
	for _, kv := range append(append([][2]string{}, hidden...), visible...) {
		o.Set(kv[0], kv[1])
		keys = append(keys, strings.ToLower(kv[0]))
	}
	env := []string{"PROBE_KEYS=" + strings.Join(keys, ",") + ",name,absent", "PROBE_ENV=from-env"}
	res, err := Run(t.Context(), host, t.TempDir(), &Scenario{Plugin: so, Outputs: []Output{o}}, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 0 {
		t.Fatalf("host failed\n%s", res)
	}
	got := map[string]string{}
	for _, line := range strings.Split(res.Stderr, "\n") {
		if kv, ok := strings.CutPrefix(line, "probe "); ok {
			k, v, _ := strings.Cut(kv, "=")
			got[k] = v
		}
	}
	want := map[string]string{"name": "<NULL>", "absent": "<NULL>"}
	for _, kv := range hidden {
		want[strings.ToLower(kv[0])] = "<NULL>"
	}
	for _, kv := range visible {
		want[strings.ToLower(kv[0])] = kv[1]
	}
	want["pipeline"], want["index"], want["api_key"] = "from-env", "<NULL>", "<NULL>"
	for k, w := range want {
		if g, ok := got[k]; !ok || g != w {
			t.Errorf("output_get_property(%q) = %q (probed %v), want %q", k, g, ok, w)
		}
	}
}

// Retry_Limit as flb_output_set_property reads it: empty, 0 and garbage
// are the default 1 (one retry), no_retries none.
func TestHostRetryLimitValues(t *testing.T) {
	host, err := BuildHost(t.Context(), t.TempDir(), ABINew)
	if err != nil {
		t.Fatal(err)
	}
	so := buildCPlugin(t, "out_bad.so")
	for _, c := range []struct {
		v       string
		flushes int
	}{{"", 2}, {"0", 2}, {"-3", 2}, {"junk", 2}, {"no_retries", 1}, {"2", 3}, {"NO_RETRIES", 1}} {
		o := Output{Name: "bad", Chunks: []Chunk{{Path: chunkFile(t)}}}
		o.Set("Retry_Limit", c.v)
		res, err := Run(t.Context(), host, t.TempDir(), &Scenario{Plugin: so, Outputs: []Output{o}}, []string{"BAD_RC=2"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(res.Of("flush")); res.ExitCode != 0 || n != c.flushes {
			t.Errorf("Retry_Limit %q: %d flushes, want %d\n%s", c.v, n, c.flushes, res)
		}
	}
}
