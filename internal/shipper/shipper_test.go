package shipper

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nri-audit/nri-audit/audit"
	"github.com/nri-audit/nri-audit/journald"
	"github.com/nri-audit/nri-audit/parser"
)

// memSink stores delivered lines; fail decides whether a flush fails.
type memSink struct {
	mu        sync.Mutex
	pending   [][]byte
	delivered [][]byte
	attempts  [][]string // ids... the lines of every flush attempt
	fail      func(attempt int) error
	n         int
}

func (m *memSink) Add(r *audit.Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pending = append(m.pending, r.AppendJSON(nil))
	return nil
}
func (m *memSink) Len() int { m.mu.Lock(); defer m.mu.Unlock(); return len(m.pending) }
func (m *memSink) Bytes() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, p := range m.pending {
		n += len(p) + 1
	}
	return n
}
func (m *memSink) Flush(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.pending) == 0 {
		return nil
	}
	m.n++
	var lines []string
	for _, p := range m.pending {
		lines = append(lines, string(p))
	}
	m.attempts = append(m.attempts, lines)
	if m.fail != nil {
		if err := m.fail(m.n); err != nil {
			return err
		}
	}
	m.delivered = append(m.delivered, m.pending...)
	m.pending = nil
	return nil
}

type memCursor struct {
	mu    sync.Mutex
	saved []string
}

func (c *memCursor) Save(s string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.saved = append(c.saved, s)
	return nil
}
func (c *memCursor) last() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.saved) == 0 {
		return ""
	}
	return c.saved[len(c.saved)-1]
}

func entries(from, n int, msg func(i int) string) []audit.Entry {
	out := make([]audit.Entry, n)
	for k := range out {
		i := from + k
		out[k].Cursor = fmt.Sprintf("s=0;i=%x;t=%x", i, 1770655472000000+i)
		out[k].Realtime = time.UnixMicro(1770655472000000 + int64(i)).UTC()
		out[k].Add("SYSLOG_IDENTIFIER", "containerd")
		out[k].Add("MESSAGE", msg(i))
	}
	return out
}

func plain(i int) string { return fmt.Sprintf(`level=info msg="line %d"`, i) }

func newShipper(t *testing.T, sink Sink, cur CursorStore, cfg Config) *Shipper {
	t.Helper()
	if cfg.Builder == nil {
		b, err := parser.New(parser.Options{})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Builder = b
	}
	cfg.Sink, cfg.Cursor = sink, cur
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.RetryMin == 0 {
		cfg.RetryMin, cfg.RetryMax = time.Millisecond, 5*time.Millisecond
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func feed(batches ...[]audit.Entry) <-chan journald.Batch {
	ch := make(chan journald.Batch, len(batches))
	for _, b := range batches {
		ch <- journald.Batch{Entries: b}
	}
	close(ch)
	return ch
}

func TestBatchingBySize(t *testing.T) {
	sink, cur := &memSink{}, &memCursor{}
	s := newShipper(t, sink, cur, Config{BatchSize: 100, FlushInterval: time.Hour})
	all := entries(0, 1050, plain)
	if err := s.Run(context.Background(), feed(all[:500], all[500:])); err != nil {
		t.Fatal(err)
	}
	if len(sink.delivered) != 1050 || len(sink.attempts) != 11 {
		t.Fatalf("%d delivered in %d flushes", len(sink.delivered), len(sink.attempts))
	}
	if cur.last() != all[1049].Cursor || len(cur.saved) != 11 {
		t.Fatalf("cursor %q after %d saves", cur.last(), len(cur.saved))
	}
	st := s.Stats()
	if st.Entries != 1050 || st.Acked != 1050 || st.Pending != 0 || st.Cursor != all[1049].Cursor || !st.AckedTime.Equal(all[1049].Realtime) {
		t.Errorf("stats %+v", st)
	}
}

func TestBatchingByBytesAndTime(t *testing.T) {
	sink := &memSink{}
	s := newShipper(t, sink, nil, Config{BatchSize: 1 << 20, BatchBytes: 2000, FlushInterval: time.Hour})
	if err := s.Run(context.Background(), feed(entries(0, 100, plain))); err != nil {
		t.Fatal(err)
	}
	for i, a := range sink.attempts[:len(sink.attempts)-1] {
		n := 0
		for _, l := range a {
			n += len(l) + 1
		}
		if n < 2000 || n > 2000+1000 {
			t.Errorf("flush %d: %d bytes", i, n)
		}
	}

	// Time: a record waits at most FlushInterval.
	sink = &memSink{}
	s = newShipper(t, sink, nil, Config{FlushInterval: 50 * time.Millisecond})
	ch := make(chan journald.Batch)
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background(), ch) }()
	ch <- journald.Batch{Entries: entries(0, 3, plain)}
	deadline := time.Now().Add(5 * time.Second)
	for s.Stats().Acked != 3 {
		if time.Now().After(deadline) {
			t.Fatal("not flushed by the interval")
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(ch)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// A failing sink: the same batch is retried and the cursor does not move
// until it is acknowledged.
func TestRetryKeepsCursor(t *testing.T) {
	cur := &memCursor{}
	var seenCursors []string
	sink := &memSink{}
	sink.fail = func(n int) error {
		if n >= 2 && n <= 5 {
			seenCursors = append(seenCursors, cur.last())
			return errors.New("HTTP 503")
		}
		return nil
	}
	s := newShipper(t, sink, cur, Config{BatchSize: 10})
	all := entries(0, 30, plain)
	if err := s.Run(context.Background(), feed(all)); err != nil {
		t.Fatal(err)
	}
	// Attempts 2..5 fail while the cursor stays at the end of batch 1.
	for _, c := range seenCursors {
		if c != all[9].Cursor {
			t.Fatalf("cursor %q during retries, want %q", c, all[9].Cursor)
		}
	}
	for n := 2; n <= 6; n++ {
		if strings.Join(sink.attempts[n-1], "\n") != strings.Join(sink.attempts[1], "\n") {
			t.Fatalf("attempt %d sent other records", n)
		}
	}
	if len(sink.delivered) != 30 || cur.last() != all[29].Cursor {
		t.Fatalf("%d delivered, cursor %q", len(sink.delivered), cur.last())
	}
	if st := s.Stats(); st.Failures != 4 || st.LastError != "" {
		t.Errorf("stats %+v", st)
	}
}

func TestStopFlushesAndSaves(t *testing.T) {
	sink, cur := &memSink{}, &memCursor{}
	s := newShipper(t, sink, cur, Config{FlushInterval: time.Hour})
	ch := make(chan journald.Batch, 1)
	ctx, cancel := context.WithCancel(context.Background())
	all := entries(0, 7, plain)
	ch <- journald.Batch{Entries: all}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, ch) }()
	for s.Stats().Entries != 7 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(sink.delivered) != 7 || cur.last() != all[6].Cursor {
		t.Fatalf("%d delivered, cursor %q", len(sink.delivered), cur.last())
	}
}

func TestStopWithSinkDown(t *testing.T) {
	sink, cur := &memSink{fail: func(int) error { return errors.New("connection refused") }}, &memCursor{}
	s := newShipper(t, sink, cur, Config{FlushInterval: time.Millisecond, DrainTimeout: 100 * time.Millisecond})
	ch := make(chan journald.Batch, 1)
	ch <- journald.Batch{Entries: entries(0, 5, plain)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, ch) }()
	for s.Stats().Failures < 3 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "not acknowledged") {
			t.Fatalf("Run = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not give up after the drain timeout")
	}
	if len(cur.saved) != 0 {
		t.Fatalf("cursor saved %q with nothing acknowledged", cur.saved)
	}
}

func TestPermanentError(t *testing.T) {
	sink, cur := &memSink{fail: func(int) error { return Permanent(errors.New("broken pipe")) }}, &memCursor{}
	s := newShipper(t, sink, cur, Config{BatchSize: 2})
	err := s.Run(context.Background(), feed(entries(0, 5, plain)))
	if !errors.Is(err, ErrPermanent) || len(sink.attempts) != 1 || len(cur.saved) != 0 {
		t.Fatalf("Run = %v after %d attempts, cursor %q", err, len(sink.attempts), cur.saved)
	}
}

// Entries the mode leaves out still move the cursor.
func TestSkippedEntriesAdvanceCursor(t *testing.T) {
	b, err := parser.New(parser.Options{Mode: parser.ModeAudit})
	if err != nil {
		t.Fatal(err)
	}
	sink, cur := &memSink{}, &memCursor{}
	s := newShipper(t, sink, cur, Config{Builder: b})
	all := entries(0, 10, func(i int) string {
		if i == 3 {
			return `time="2026-02-09T16:44:32.545908121Z" level=info msg="add mount" nri.plugin=10-device-injector value.destination=/data`
		}
		return plain(i)
	})
	if err := s.Run(context.Background(), feed(all)); err != nil {
		t.Fatal(err)
	}
	if len(sink.delivered) != 1 || cur.last() != all[9].Cursor {
		t.Fatalf("%d delivered, cursor %q", len(sink.delivered), cur.last())
	}
	if st := s.Stats(); st.Skipped != 9 || st.Records != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestNDJSONSink(t *testing.T) {
	var buf bytes.Buffer
	s := NewNDJSONSink(&buf)
	var r audit.Record
	r.Timestamp = time.Date(2026, 2, 9, 16, 44, 32, 5, time.UTC)
	r.AddString("nri_msg", "x\ny")
	s.Add(&r)
	s.Add(&r)
	if s.Len() != 2 || buf.Len() != 0 {
		t.Fatal("written before Flush")
	}
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := `{"@timestamp":"2026-02-09T16:44:32.000000005Z","nri_msg":"x\ny"}` + "\n"
	if buf.String() != want+want || s.Len() != 0 || s.Bytes() != 0 {
		t.Fatalf("%q", buf.String())
	}
	s = NewNDJSONSink(failWriter{})
	s.Add(&r)
	if err := s.Flush(context.Background()); !errors.Is(err, ErrPermanent) {
		t.Fatalf("Flush = %v", err)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }
