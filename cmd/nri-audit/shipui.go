package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/nri-audit/nri-audit/esbulk"
	"github.com/nri-audit/nri-audit/internal/shipper"
	"github.com/nri-audit/nri-audit/journald"
)

// logSetup is the level of ship's logger.
type logSetup struct {
	level slog.Level
}

func newLogger(level string) (*logSetup, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	return &logSetup{level: l}, nil
}

func (l *logSetup) handler(w io.Writer) slog.Handler {
	return slog.NewTextHandler(w, &slog.HandlerOptions{Level: l.level})
}

// shipUI shows progress: on a terminal a line redrawn twice a second while
// backfilling, otherwise (and once caught up) a log line per interval. It
// is also the log writer, so log lines do not tear the progress line.
type shipUI struct {
	mu   sync.Mutex
	w    io.Writer
	tty  bool
	line string // the progress line on screen, "" when none
}

// newShipUI returns nil for an unknown mode.
func newShipUI(w io.Writer, mode string) *shipUI {
	u := &shipUI{w: w}
	switch mode {
	case "auto":
		u.tty = isTerminal(w)
	case "always":
		u.tty = true
	case "never":
	default:
		return nil
	}
	return u
}

// Write writes a log line above the progress line.
func (u *shipUI) Write(p []byte) (int, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.line != "" {
		io.WriteString(u.w, "\r\x1b[K")
	}
	n, err := u.w.Write(p)
	if u.line != "" {
		io.WriteString(u.w, u.line)
	}
	return n, err
}

func (u *shipUI) show(line string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if line == "" && u.line == "" {
		return
	}
	io.WriteString(u.w, "\r\x1b[K"+line)
	u.line = line
}

// progress is what one refresh computes.
type progress struct {
	read, shipped uint64
	rate          float64 // entries per second, smoothed
	at            time.Time
	percent       float64 // of the journal span between the bounds, -1 unknown
	eta           time.Duration
	behind        bool // still backfilling
}

type progressMeter struct {
	bounds   journald.Bounds
	lastT    time.Time
	lastRead uint64
	lastAt   time.Time
	rate     float64 // entries/s
	speed    float64 // journal seconds per second
}

func (m *progressMeter) update(now time.Time, rs journald.Stats, ss shipper.Stats) progress {
	p := progress{read: rs.Entries, shipped: ss.Acked, at: rs.Last, percent: -1}
	if !m.lastT.IsZero() {
		dt := now.Sub(m.lastT).Seconds()
		if dt > 0 {
			inst := float64(rs.Entries-m.lastRead) / dt
			speed := 0.0
			if !m.lastAt.IsZero() && rs.Last.After(m.lastAt) {
				speed = rs.Last.Sub(m.lastAt).Seconds() / dt
			}
			if m.rate == 0 {
				m.rate, m.speed = inst, speed
			} else {
				m.rate = 0.7*m.rate + 0.3*inst
				m.speed = 0.7*m.speed + 0.3*speed
			}
		}
	}
	m.lastT, m.lastRead, m.lastAt = now, rs.Entries, rs.Last
	p.rate = m.rate
	tail := m.bounds.Tail
	if !tail.IsZero() && !rs.Last.IsZero() {
		p.behind = rs.Last.Before(tail) || ss.Pending > 0
		if span := tail.Sub(m.bounds.Head); span > 0 {
			p.percent = 100 * float64(rs.Last.Sub(m.bounds.Head)) / float64(span)
		}
		if m.speed > 0 {
			p.eta = time.Duration(float64(tail.Sub(rs.Last)) / m.speed)
		}
	} else if !tail.IsZero() {
		p.behind = true
	}
	return p
}

func (p progress) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "read %s | shipped %s | %s/s", count(p.read), count(p.shipped), count(uint64(p.rate)))
	if !p.at.IsZero() {
		fmt.Fprintf(&b, " | journal at %s", p.at.Local().Format("2006-01-02 15:04:05"))
		if p.percent >= 0 {
			fmt.Fprintf(&b, " (%.0f%%)", min(p.percent, 100))
		}
	}
	if p.eta > 0 {
		fmt.Fprintf(&b, " | ETA %s", p.eta.Round(time.Second))
	}
	return b.String()
}

// count writes n with thousands separators.
func count(n uint64) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// run refreshes the progress until the returned stop is called.
func (u *shipUI) run(r *journald.Reader, sh *shipper.Shipper, interval time.Duration, log *slog.Logger) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	m := &progressMeter{bounds: r.Bounds(), lastT: time.Now()}
	go func() {
		defer close(finished)
		tick := 500 * time.Millisecond
		if !u.tty {
			tick = interval
		}
		if tick <= 0 {
			<-done
			return
		}
		t := time.NewTicker(tick)
		defer t.Stop()
		tty := u.tty
		lastLog := time.Now()
		for {
			select {
			case <-done:
				u.show("")
				return
			case now := <-t.C:
				p := m.update(now, r.Stats(), sh.Stats())
				if tty && p.behind {
					u.show(p.String())
					continue
				}
				if tty {
					// Caught up: the line goes, periodic log lines follow.
					tty = false
					u.show("")
					log.Info("ship: caught up with the journal", "read", p.read, "shipped", p.shipped)
					lastLog = now
					continue
				}
				if interval > 0 && now.Sub(lastLog) >= interval-tick/2 {
					lastLog = now
					st := sh.Stats()
					attrs := []any{"read", p.read, "shipped", p.shipped, "pending", st.Pending,
						"rate", fmt.Sprintf("%.0f/s", p.rate)}
					if !p.at.IsZero() {
						attrs = append(attrs, "journal_at", p.at.Format(time.RFC3339))
					}
					if st.LastError != "" {
						attrs = append(attrs, "last_error", st.LastError)
					}
					log.Info("ship: progress", attrs...)
				}
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(done); <-finished })
	}
}

// shipMetrics renders the counters in the Prometheus text format.
type shipMetrics struct {
	reader *journald.Reader
	ship   *shipper.Shipper
	es     *esbulk.Client
}

func (m *shipMetrics) write(w io.Writer) {
	metric := func(name, typ, help string, v float64) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n%s %g\n", name, help, name, typ, name, v)
	}
	rs, ss := m.reader.Stats(), m.ship.Stats()
	metric("nri_audit_ship_journal_entries_total", "counter", "Journal entries read.", float64(rs.Entries))
	metric("nri_audit_ship_journal_bytes_total", "counter", "Bytes of journal field data read.", float64(rs.Bytes))
	metric("nri_audit_ship_journal_invalidations_total", "counter", "Journal file set changes seen (rotation, vacuuming).", float64(rs.Invalidations))
	metric("nri_audit_ship_journal_field_errors_total", "counter", "Journal fields that could not be read.", float64(rs.FieldErrors))
	if !rs.Last.IsZero() {
		metric("nri_audit_ship_journal_read_timestamp_seconds", "gauge", "Receive time of the last entry read.", float64(rs.Last.UnixNano())/1e9)
	}
	metric("nri_audit_ship_records_total", "counter", "Documents built and added to a batch.", float64(ss.Records))
	metric("nri_audit_ship_skipped_total", "counter", "Entries left out by the parser mode or policy.", float64(ss.Skipped))
	metric("nri_audit_ship_acked_total", "counter", "Documents acknowledged by the sink.", float64(ss.Acked))
	metric("nri_audit_ship_flushes_total", "counter", "Batches acknowledged.", float64(ss.Flushes))
	metric("nri_audit_ship_flush_failures_total", "counter", "Flush attempts that failed (the batch is retried).", float64(ss.Failures))
	metric("nri_audit_ship_cursor_commits_total", "counter", "Cursor saves.", float64(ss.Committed))
	metric("nri_audit_ship_pending_records", "gauge", "Documents waiting in the current batch.", float64(ss.Pending))
	if !ss.AckedTime.IsZero() {
		metric("nri_audit_ship_acked_timestamp_seconds", "gauge", "Receive time of the last acknowledged entry.", float64(ss.AckedTime.UnixNano())/1e9)
	}
	if m.es != nil {
		es := m.es.Stats()
		metric("nri_audit_es_delivered_total", "counter", "Documents indexed.", float64(es.Delivered))
		metric("nri_audit_es_duplicates_total", "counter", "Documents already indexed (409).", float64(es.Duplicates))
		metric("nri_audit_es_dead_lettered_total", "counter", "Documents rejected for good, written to the dead letter.", float64(es.DeadLettered))
		metric("nri_audit_es_failed_total", "counter", "Documents a flush left unacknowledged.", float64(es.Failed))
		metric("nri_audit_es_retried_total", "counter", "Document re-sends after retryable failures.", float64(es.Retried))
		metric("nri_audit_es_requests_total", "counter", "Bulk requests.", float64(es.Requests))
		metric("nri_audit_es_request_errors_total", "counter", "Bulk requests that failed below HTTP.", float64(es.RequestErrs))
		metric("nri_audit_es_bytes_total", "counter", "Bulk bytes sent (uncompressed).", float64(es.Bytes))
		metric("nri_audit_es_request_seconds_total", "counter", "Time spent in bulk requests.", es.Latency.Seconds())
	}
}

// serve starts the metrics server; stop shuts it down.
func (m *shipMetrics) serve(addr string) (stop func(), bound string, err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		m.write(w)
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			slog.Default().Warn("ship: metrics server", "error", err)
		}
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}, ln.Addr().String(), nil
}
