package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/nri-audit/nri-audit/internal/shipper"
	"github.com/nri-audit/nri-audit/journald"
)

func TestProgressMeter(t *testing.T) {
	head := time.Date(2026, 2, 9, 0, 0, 0, 0, time.UTC)
	m := &progressMeter{bounds: journald.Bounds{Head: head, Tail: head.Add(100 * time.Hour)}}
	now := time.Now()
	m.update(now, journald.Stats{Entries: 0, Last: head}, shipper.Stats{})
	// 1 s later: 10k entries read, 10 journal hours covered.
	p := m.update(now.Add(time.Second), journald.Stats{Entries: 10000, Last: head.Add(10 * time.Hour)}, shipper.Stats{Acked: 9000})
	if p.rate != 10000 || p.percent != 10 || !p.behind {
		t.Fatalf("%+v", p)
	}
	// 90 journal hours left at 10 journal hours per second: 9 s.
	if p.eta != 9*time.Second {
		t.Errorf("ETA %v", p.eta)
	}
	line := p.String()
	for _, want := range []string{"read 10,000", "shipped 9,000", "10,000/s", "(10%)", "ETA 9s"} {
		if !strings.Contains(line, want) {
			t.Errorf("%q lacks %q", line, want)
		}
	}
	// At the tail with nothing pending: caught up.
	p = m.update(now.Add(2*time.Second), journald.Stats{Entries: 20000, Last: head.Add(100 * time.Hour)}, shipper.Stats{Acked: 20000})
	if p.behind {
		t.Errorf("still behind at the tail: %+v", p)
	}
	if count(1234567) != "1,234,567" || count(12) != "12" || count(1000) != "1,000" {
		t.Error("count")
	}
}

// Log lines go above the progress line, which is redrawn after them.
func TestShipUIWrite(t *testing.T) {
	var b bytes.Buffer
	u := newShipUI(&b, "always")
	u.show("read 1 | shipped 1")
	u.Write([]byte("level=INFO msg=hello\n"))
	u.show("")
	want := "\r\x1b[Kread 1 | shipped 1" + "\r\x1b[Klevel=INFO msg=hello\nread 1 | shipped 1" + "\r\x1b[K"
	if b.String() != want {
		t.Fatalf("%q\nwant %q", b.String(), want)
	}
	if newShipUI(&b, "auto").tty {
		t.Error("a buffer is not a terminal")
	}
	if newShipUI(&b, "bogus") != nil {
		t.Error("bad mode accepted")
	}
}
