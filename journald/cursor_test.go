package journald

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const sampleCursor = "s=f0f9eaae142f4a70ad7464bdf178764f;i=1869e;b=41681935b56e4d14a0aa7c37b76e8663;m=1647b9332b;t=64a675728272b;x=dc198cace0a83821"

func TestCursorRealtime(t *testing.T) {
	got, err := CursorRealtime(sampleCursor)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.UnixMicro(0x64a675728272b).UTC(); !got.Equal(want) || got.Year() != 2026 {
		t.Fatalf("CursorRealtime = %v, want %v", got, want)
	}
	for _, bad := range []string{"", "garbage", "s=1;i=2", "t=zz", "t=", "s=1;;t=2", "t=ffffffffffffffffff", "tt=1"} {
		if _, err := CursorRealtime(bad); err == nil {
			t.Errorf("CursorRealtime(%q) accepted", bad)
		}
	}
}

func FuzzCursorRealtime(f *testing.F) {
	f.Add(sampleCursor)
	f.Add("t=1")
	f.Add("s=;t=")
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := CursorRealtime(s)
		if err == nil && (tm.IsZero() && !strings.Contains(s, "t=0") || tm.Location() != time.UTC) {
			t.Fatalf("CursorRealtime(%q) = %v", s, tm)
		}
	})
}

func TestCursorStore(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cursor")
	s := NewCursorStore(path)
	if c, err := s.Load(); err != nil || c != "" {
		t.Fatalf("Load of a missing file = %q, %v", c, err)
	}
	if err := s.Save(sampleCursor); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil || string(b) != sampleCursor {
		t.Fatalf("file holds %q, %v", b, err)
	}
	other := strings.Replace(sampleCursor, "i=1869e", "i=1869f", 1)
	if err := s.Save(other); err != nil {
		t.Fatal(err)
	}
	if c, err := NewCursorStore(path).Load(); err != nil || c != other {
		t.Fatalf("reload = %q, %v", c, err)
	}
	// No temporary files left behind.
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("directory holds %d files", len(ents))
	}
	// journalctl --cursor-file writes a trailing newline on some versions.
	os.WriteFile(path, []byte(sampleCursor+"\n"), 0o644)
	if c, err := s.Load(); err != nil || c != sampleCursor {
		t.Errorf("Load with newline = %q, %v", c, err)
	}
	if err := s.Save("not a cursor"); err == nil {
		t.Error("Save accepted a bad cursor")
	}
	os.WriteFile(path, []byte("garbage"), 0o644)
	if _, err := s.Load(); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Errorf("Load of garbage = %v", err)
	}
	// A directory that cannot be written: a clear error, the old file kept.
	if os.Geteuid() != 0 {
		ro := filepath.Join(t.TempDir(), "ro")
		os.Mkdir(ro, 0o555)
		if err := NewCursorStore(filepath.Join(ro, "c")).Save(sampleCursor); err == nil {
			t.Error("Save into a read-only directory succeeded")
		}
	}
}

func TestParseStart(t *testing.T) {
	for in, want := range map[string]Start{"": FromHead, "head": FromHead, "TAIL": FromTail, "since": FromSince, "cursor": FromCursor} {
		if got, err := ParseStart(in); err != nil || got != want || (in != "" && !strings.EqualFold(got.String(), in)) {
			t.Errorf("ParseStart(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseStart("middle"); err == nil {
		t.Error("ParseStart(middle) accepted")
	}
	if UnitName("containerd") != "containerd.service" || UnitName("crio.service") != "crio.service" || UnitName("x.scope") != "x.scope" {
		t.Error("UnitName")
	}
}
