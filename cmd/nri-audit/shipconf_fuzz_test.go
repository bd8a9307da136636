package main

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// FuzzApplyConfigFile: any ship config file gives flags or a clear error,
// never a panic.
func FuzzApplyConfigFile(f *testing.F) {
	f.Add([]byte("match: [SYSLOG_IDENTIFIER=containerd]\nbatch_size: 500\nfollow: true\n"))
	f.Add([]byte("es_header: {X-A: b}\nes_param: \"a=1&b=2\"\n"))
	f.Add([]byte("no_such_key: 1\n"))
	f.Add([]byte("match: {a: [1, {b: c}]}\n"))
	f.Add([]byte(":\n- [\n"))
	path := filepath.Join(f.TempDir(), "ship.yaml")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		fs := flag.NewFlagSet("ship", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		var o shipOptions
		o.register(fs)
		_ = applyConfigFile(fs, path)
	})
}
