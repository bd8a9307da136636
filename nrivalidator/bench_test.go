package nrivalidator

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/coreos/go-systemd/v22/journal"

	"github.com/nri-audit/nri-audit/internal/nritest"
)

// countingWriter counts what it passes on.
type countingWriter struct {
	w *os.File
	n atomic.Int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n.Add(int64(len(p)))
	return c.w.Write(p)
}

// datagramJournal is a stand-in journald: a unixgram socket drained by a
// goroutine, fed by a SendFunc that encodes entries as journal.Send does
// (KEY=value lines, one datagram per entry).
type datagramJournal struct {
	conn *net.UnixConn
	addr *net.UnixAddr
	sent atomic.Int64
	buf  bytes.Buffer
}

func startDatagramJournal(b *testing.B) *datagramJournal {
	b.Helper()
	dir, err := os.MkdirTemp("", "jrn-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	addr := &net.UnixAddr{Name: filepath.Join(dir, "socket"), Net: "unixgram"}
	srv, err := net.ListenUnixgram("unixgram", addr)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Close() })
	go func() {
		buf := make([]byte, 1<<16)
		for {
			if _, _, err := srv.ReadFromUnix(buf); err != nil {
				return
			}
		}
	}()
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Net: "unixgram"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	return &datagramJournal{conn: conn, addr: addr}
}

func (j *datagramJournal) send(message string, p journal.Priority, vars map[string]string) error {
	j.buf.Reset()
	j.buf.WriteString("PRIORITY=" + strconv.Itoa(int(p)) + "\nMESSAGE=" + message + "\n")
	for k, v := range vars {
		j.buf.WriteString(k + "=" + v + "\n")
	}
	j.sent.Add(int64(len(message)))
	_, _, err := j.conn.WriteMsgUnix(j.buf.Bytes(), nil, j.addr)
	return err
}

// BenchmarkCreateContainer100 measures NRI's CreateContainer with two
// plugins making 100 adjustments, without a validator and with ours
// writing every line (about 150) to a file or to a unixgram socket as the
// journal sink does. The difference is what the validator costs a
// container creation.
func BenchmarkCreateContainer100(b *testing.B) {
	first, second := nritest.ManyAdjustments(100)
	setup := func(b *testing.B) *nritest.Runtime {
		rt := nritest.StartRuntime(b, "containerd", "v2.2.0")
		rt.ConnectMutator("device-injector", "10", first)
		rt.ConnectMutator("resource-policy", "90", second)
		return rt
	}
	run := func(b *testing.B, rt *nritest.Runtime, written func() int64) {
		if _, err := rt.Create("ctr-1"); err != nil { // warm up, measure
			b.Fatal(err)
		}
		if written != nil {
			b.SetBytes(written())
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := rt.Create("ctr-1"); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("validator=none", func(b *testing.B) {
		run(b, setup(b), nil)
	})
	b.Run("validator=file", func(b *testing.B) {
		rt := setup(b)
		f, err := os.CreateTemp("", "audit-*.log")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { f.Close(); os.Remove(f.Name()) })
		w := &countingWriter{w: f}
		v := newValidator(b, Options{Sink: NewStreamSink(w, FormatText)})
		connectValidator(rt, v)
		run(b, rt, func() int64 { return w.n.Load() })
		checkStats(b, v)
	})
	b.Run("validator=journal-socket", func(b *testing.B) {
		rt := setup(b)
		j := startDatagramJournal(b)
		v := newValidator(b, Options{Sink: NewJournalSink(FormatText, j.send)})
		connectValidator(rt, v)
		run(b, rt, func() int64 { return j.sent.Load() })
		checkStats(b, v)
	})
}

// checkStats requires every line written once the queue is drained. A
// request may time out (answered before its lines were written) when the
// machine is starved for CPU; its lines are still written, in order.
func checkStats(b *testing.B, v *Validator) {
	b.StopTimer()
	v.Close()
	st := v.Stats()
	if st.Failed+st.Dropped != 0 || st.Lines != st.Written {
		b.Fatalf("stats %+v", st)
	}
	b.ReportMetric(float64(st.Lines)/float64(st.Requests), "lines/op")
	if st.TimedOut > 0 {
		b.ReportMetric(float64(st.TimedOut), "timeouts")
	}
}
