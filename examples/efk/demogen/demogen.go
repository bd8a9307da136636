package demogen

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/nri-audit/nri-audit/internal/journalgen"
)

// Hostnames of the two demo nodes.
const (
	RuntimeNode   = "worker-1"
	ValidatorNode = "worker-2"
)

// Options configure Run.
type Options struct {
	// Dir is the journal directory Fluent Bit reads (created if missing).
	Dir string
	// Interval is the time between two container creations on each node;
	// 0 means 2 s.
	Interval time.Duration
	// Flush is how often the entries due so far are written; 0 means 2 s.
	Flush time.Duration
	// Seed makes the random choices.
	Seed uint64
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives one line per write; nil discards.
	Logger *slog.Logger
}

// Stats count what Run wrote.
type Stats struct {
	Writes  int
	Entries map[string]int // hostname → entries
}

// source yields the entries of one node in time order.
type source interface {
	// Until appends the entries due at or before t.
	Until(t time.Time, dst []journalgen.Entry) ([]journalgen.Entry, error)
}

// runtimeSource wraps a journalgen.Generator, holding back the first entry
// that is not due yet.
type runtimeSource struct {
	g       *journalgen.Generator
	next    journalgen.Entry
	hasNext bool
}

func newRuntimeSource(start time.Time, interval time.Duration, seed uint64) *runtimeSource {
	g := journalgen.New(journalgen.Options{
		Entries:    math.MaxInt,
		Start:      start,
		Interval:   interval,
		Seed:       seed,
		Hostname:   RuntimeNode,
		NoCoverage: true,
	})
	return &runtimeSource{g: g}
}

func (s *runtimeSource) Until(t time.Time, dst []journalgen.Entry) ([]journalgen.Entry, error) {
	for {
		if !s.hasNext {
			if !s.g.Next(&s.next) {
				return dst, nil
			}
			s.hasNext = true
		}
		if s.next.Realtime.After(t) {
			return dst, nil
		}
		dst = append(dst, s.next)
		s.hasNext = false
	}
}

// Run appends the entries of both nodes every Flush until ctx is done. It
// returns nil when ctx ends, or the first write error.
func Run(ctx context.Context, o Options) (Stats, error) {
	st := Stats{Entries: map[string]int{}}
	if o.Dir == "" {
		return st, errors.New("demogen: no journal directory")
	}
	if o.Interval <= 0 {
		o.Interval = 2 * time.Second
	}
	if o.Flush <= 0 {
		o.Flush = 2 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return st, fmt.Errorf("demogen: %w", err)
	}
	if _, err := journalgen.RemoteBinary(); err != nil {
		return st, err
	}
	start := o.Now()
	val, err := newValidatorSource(start, o.Interval, o.Seed)
	if err != nil {
		return st, err
	}
	nodes := []struct {
		host string
		src  source
	}{
		{RuntimeNode, newRuntimeSource(start, o.Interval, o.Seed)},
		{ValidatorNode, val},
	}
	var batch []journalgen.Entry
	for {
		now := o.Now()
		for _, n := range nodes {
			var err error
			if batch, err = n.src.Until(now, batch[:0]); err != nil {
				return st, err
			}
			if len(batch) == 0 {
				continue
			}
			// A canceled context kills systemd-journal-remote; write with
			// a context of its own so a batch is never half written.
			wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			written, err := journalgen.Append(wctx, filepath.Join(o.Dir, n.host+".journal"), journalgen.Entries(batch...))
			cancel()
			st.Entries[n.host] += written
			if err != nil {
				return st, fmt.Errorf("demogen: %s: %w", n.host, err)
			}
			st.Writes++
			o.Logger.Info("appended", "node", n.host, "entries", written, "total", st.Entries[n.host])
		}
		select {
		case <-ctx.Done():
			return st, nil
		case <-time.After(o.Flush):
		}
	}
}
