package shipper

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nri-audit/nri-audit/audit"
	"github.com/nri-audit/nri-audit/journald"
	"github.com/nri-audit/nri-audit/parser"
)

// Sink receives records and delivers them in batches.
type Sink interface {
	// Add encodes r into the pending batch (r may be reused afterwards).
	Add(r *audit.Record) error
	// Len and Bytes measure the pending batch.
	Len() int
	Bytes() int
	// Flush delivers the pending batch. It returns nil only when every
	// record is acknowledged, and then empties the batch; otherwise the
	// batch is kept for the next Flush. An error wrapping ErrPermanent
	// ends the run (nothing is committed).
	Flush(ctx context.Context) error
}

// ErrPermanent marks a sink error that retrying cannot fix (a closed
// stdout, a refused file).
var ErrPermanent = errors.New("permanent sink error")

// Permanent wraps err as ErrPermanent.
func Permanent(err error) error { return fmt.Errorf("%w: %w", ErrPermanent, err) }

// CursorStore saves the resume position; journald.CursorStore is one.
type CursorStore interface {
	Save(cursor string) error
}

// Defaults of Config.
const (
	DefaultBatchSize     = 1000
	DefaultBatchBytes    = 4 << 20
	DefaultFlushInterval = time.Second
	DefaultDrainTimeout  = 30 * time.Second
	DefaultRetryMin      = time.Second
	DefaultRetryMax      = 30 * time.Second
)

// Config configures a Shipper.
type Config struct {
	Builder *parser.Builder
	Sink    Sink
	// Cursor, when set, receives the cursor after each acknowledged flush.
	Cursor CursorStore

	BatchSize     int           // records per flush; 0: DefaultBatchSize
	BatchBytes    int           // bytes per flush; 0: DefaultBatchBytes
	FlushInterval time.Duration // longest a record waits; 0: DefaultFlushInterval
	// DrainTimeout bounds the final flush after the context ends.
	DrainTimeout time.Duration
	// RetryMin and RetryMax bound the backoff between attempts of a flush.
	RetryMin, RetryMax time.Duration

	Logger *slog.Logger
}

// Stats are the shipper's counters, safe to read while it runs.
type Stats struct {
	Entries   uint64 // entries consumed
	Records   uint64 // records added to the sink
	Skipped   uint64 // entries the parser mode or policy left out
	Acked     uint64 // records acknowledged by the sink
	Flushes   uint64 // successful flushes
	Failures  uint64 // flush attempts that failed (each is retried)
	Pending   int    // records waiting in the batch
	Committed uint64 // cursor saves
	// AckedTime is the receive time of the last entry whose documents are
	// acknowledged; Cursor its cursor.
	AckedTime time.Time
	Cursor    string
	// LastError is the latest flush failure ("" after a success).
	LastError string
}

// Shipper moves entries from batches into a Sink. Run it once.
type Shipper struct {
	cfg Config
	log *slog.Logger

	entries, records, skipped, acked, flushes, failures, committed atomic.Uint64
	pending                                                        atomic.Int64

	mu        sync.Mutex
	ackedTime time.Time
	cursor    string
	lastError string
}

// New checks cfg and returns a Shipper.
func New(cfg Config) (*Shipper, error) {
	if cfg.Builder == nil || cfg.Sink == nil {
		return nil, errors.New("shipper: a builder and a sink are required")
	}
	if cfg.BatchSize < 0 || cfg.BatchBytes < 0 || cfg.FlushInterval < 0 || cfg.DrainTimeout < 0 {
		return nil, errors.New("shipper: negative batch size, bytes or interval")
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.BatchBytes == 0 {
		cfg.BatchBytes = DefaultBatchBytes
	}
	if cfg.FlushInterval == 0 {
		cfg.FlushInterval = DefaultFlushInterval
	}
	if cfg.DrainTimeout == 0 {
		cfg.DrainTimeout = DefaultDrainTimeout
	}
	if cfg.RetryMin <= 0 {
		cfg.RetryMin = DefaultRetryMin
	}
	if cfg.RetryMax < cfg.RetryMin {
		cfg.RetryMax = max(DefaultRetryMax, cfg.RetryMin)
	}
	s := &Shipper{cfg: cfg, log: cfg.Logger}
	if s.log == nil {
		s.log = slog.Default()
	}
	return s, nil
}

// Stats returns the counters.
func (s *Shipper) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{
		Entries:   s.entries.Load(),
		Records:   s.records.Load(),
		Skipped:   s.skipped.Load(),
		Acked:     s.acked.Load(),
		Flushes:   s.flushes.Load(),
		Failures:  s.failures.Load(),
		Pending:   int(s.pending.Load()),
		Committed: s.committed.Load(),
		AckedTime: s.ackedTime,
		Cursor:    s.cursor,
		LastError: s.lastError,
	}
}

// Run ships until batches is closed (then it flushes and returns) or ctx
// ends (then it stops reading, flushes the pending batch within
// DrainTimeout, saves the cursor and returns nil). It returns an error for
// a permanent sink failure, a cursor that cannot be saved, or a final
// flush that did not succeed (the unacknowledged entries are read again on
// the next start).
func (s *Shipper) Run(ctx context.Context, batches <-chan journald.Batch) error {
	// Flushes outlive ctx by at most DrainTimeout: a signal ends reading,
	// not the delivery of what was read.
	flushCtx, cancelFlush := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelFlush()
	stopDrain := context.AfterFunc(ctx, func() {
		t := time.NewTimer(s.cfg.DrainTimeout)
		defer t.Stop()
		select {
		case <-t.C:
			cancelFlush()
		case <-flushCtx.Done():
		}
	})
	defer stopDrain()

	var (
		rec        audit.Record
		cursor     string    // last entry consumed into the pending batch
		cursorTime time.Time // its receive time
		dirty      bool      // cursor not yet committed
		timer      = time.NewTimer(time.Hour)
		timerOn    bool
	)
	timer.Stop()
	defer timer.Stop()

	flush := func() error {
		if timerOn {
			timer.Stop()
			timerOn = false
		}
		if !dirty {
			return nil
		}
		n := s.cfg.Sink.Len()
		if err := s.flushRetry(flushCtx, n); err != nil {
			return err
		}
		s.acked.Add(uint64(n))
		s.pending.Store(0)
		if s.cfg.Cursor != nil && cursor != "" {
			if err := s.cfg.Cursor.Save(cursor); err != nil {
				return fmt.Errorf("shipper: %w", err)
			}
			s.committed.Add(1)
		}
		s.mu.Lock()
		s.ackedTime, s.cursor = cursorTime, cursor
		s.mu.Unlock()
		dirty = false
		return nil
	}

	for {
		select {
		case <-ctx.Done():
			return s.final(flush, "stopping")
		case <-timer.C:
			timerOn = false
			if err := flush(); err != nil {
				return s.final(func() error { return err }, "")
			}
		case b, ok := <-batches:
			if !ok {
				return s.final(flush, "")
			}
			for i := range b.Entries {
				e := &b.Entries[i]
				s.entries.Add(1)
				if s.cfg.Builder.Build(e, &rec) {
					if err := s.cfg.Sink.Add(&rec); err != nil {
						return fmt.Errorf("shipper: entry %s: %w", e.Cursor, err)
					}
					s.records.Add(1)
					s.pending.Add(1)
				} else {
					s.skipped.Add(1)
				}
				cursor, cursorTime, dirty = e.Cursor, e.Realtime, true
				if !timerOn {
					timer.Reset(s.cfg.FlushInterval)
					timerOn = true
				}
				if s.cfg.Sink.Len() >= s.cfg.BatchSize || s.cfg.Sink.Bytes() >= s.cfg.BatchBytes {
					if err := flush(); err != nil {
						return s.final(func() error { return err }, "")
					}
				}
			}
		}
	}
}

// final runs the last flush and reports its outcome.
func (s *Shipper) final(flush func() error, why string) error {
	pending := s.cfg.Sink.Len()
	if why != "" && pending > 0 {
		s.log.Info("shipper: "+why+": flushing the pending batch", "records", pending)
	}
	if err := flush(); err != nil {
		if errors.Is(err, context.Canceled) {
			err = fmt.Errorf("shipper: the last %d records were not acknowledged within the drain timeout; "+
				"the cursor was not advanced, they are read again on the next start", pending)
		}
		return err
	}
	return nil
}

// flushRetry flushes the pending batch until it is fully acknowledged,
// backing off between attempts; it gives up only when ctx ends or the
// error is permanent.
func (s *Shipper) flushRetry(ctx context.Context, n int) error {
	delay := s.cfg.RetryMin
	for attempt := 1; ; attempt++ {
		err := s.cfg.Sink.Flush(ctx)
		if err == nil {
			s.flushes.Add(1)
			if attempt > 1 {
				s.log.Info("shipper: batch delivered after retries", "records", n, "attempts", attempt)
			}
			s.mu.Lock()
			s.lastError = ""
			s.mu.Unlock()
			return nil
		}
		s.failures.Add(1)
		s.mu.Lock()
		s.lastError = err.Error()
		s.mu.Unlock()
		if errors.Is(err, ErrPermanent) {
			return fmt.Errorf("shipper: %w", err)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// Half fixed, half random: retries of many shippers spread out.
		wait := delay/2 + rand.N(delay/2+1)
		s.log.Warn("shipper: flush failed; retrying the same batch, the cursor stays",
			"records", n, "attempt", attempt, "retry_in", wait.Round(time.Millisecond), "error", err)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
		delay = min(delay*2, s.cfg.RetryMax)
	}
}
