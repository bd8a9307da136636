package flbout

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nri-audit/nri-audit/audit"
	"github.com/nri-audit/nri-audit/esbulk"
	"github.com/nri-audit/nri-audit/flbchunk"
	"github.com/nri-audit/nri-audit/parser"
)

// Status is the outcome of a flush, mapped by the plugin to FLB_OK,
// FLB_RETRY and FLB_ERROR.
type Status int

// Flush outcomes.
const (
	// StatusError: the chunk cannot be handled by this instance (closed);
	// Fluent Bit drops it.
	StatusError Status = iota
	// StatusOK: every record was delivered, a duplicate, dead-lettered or
	// dropped by mode/policy, and undecodable bytes were dead-lettered.
	StatusOK
	// StatusRetry: some records are not acknowledged yet; Fluent Bit must
	// re-deliver the same chunk (document ids make that idempotent).
	StatusRetry
)

func (s Status) String() string {
	switch s {
	case StatusOK:
		return "ok"
	case StatusRetry:
		return "retry"
	}
	return "error"
}

// maxPooledChunk bounds the chunk copies kept for reuse; Fluent Bit chunks
// are about 2 MB, a bigger one is copied into a buffer that is not kept.
const maxPooledChunk = 8 << 20

// Output is one [OUTPUT] instance: configuration, an Elasticsearch client
// and pools of per-flush scratch state. Flush is safe for concurrent use
// (Fluent Bit's workers N).
type Output struct {
	cfg    Config
	log    *slog.Logger
	client *esbulk.Client
	dl     *rawDeadLetter

	scratch sync.Pool // *scratch
	chunks  sync.Pool // *[]byte

	mu     sync.RWMutex // Flush holds it shared, Close exclusive
	closed bool

	stats counters
}

// scratch is the state one flush needs; it is not shared between flushes
// running at the same time.
type scratch struct {
	dec   flbchunk.Decoder
	b     *parser.Builder
	rec   audit.Record
	batch *esbulk.Batch
}

// New builds an output from a parsed configuration, logs the effective
// configuration once and, with health_check on or warn, probes
// Elasticsearch. log may be nil (slog.Default()).
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Output, error) {
	if log == nil {
		log = slog.Default()
	}
	es := cfg.ES
	es.Logger = log
	client, err := esbulk.New(es)
	if err != nil {
		return nil, fmt.Errorf("flbout: %w", err)
	}
	o := &Output{cfg: cfg, log: log, client: client}
	if o.dl, err = newRawDeadLetter(cfg, log); err != nil {
		client.Close()
		return nil, err
	}
	// Fail at Init, not at the first flush, if the parser options are bad.
	if _, err := o.getScratch(); err != nil {
		o.Close()
		return nil, err
	}
	log.LogAttrs(ctx, slog.LevelInfo, "effective configuration", cfg.LogAttrs()...)
	if cfg.HealthCheck != HealthOff {
		cctx, cancel := context.WithTimeout(ctx, cfg.ES.RequestTimeout)
		err := client.Check(cctx)
		cancel()
		switch {
		case err != nil && cfg.HealthCheck == HealthOn:
			o.Close()
			return nil, fmt.Errorf("flbout: key health_check=on: Elasticsearch check failed: %w", err)
		case err != nil:
			log.Warn("Elasticsearch check failed; flushes will retry until it answers", "error", err.Error())
		default:
			log.Info("Elasticsearch check passed")
		}
	}
	return o, nil
}

func (o *Output) getScratch() (*scratch, error) {
	if s, ok := o.scratch.Get().(*scratch); ok {
		return s, nil
	}
	b, err := parser.New(o.cfg.Parser)
	if err != nil {
		return nil, fmt.Errorf("flbout: %w", err)
	}
	return &scratch{b: b, batch: o.client.NewBatch()}, nil
}

func (o *Output) putScratch(s *scratch) {
	s.rec.Reset()
	// A batch grown by a huge chunk is not worth keeping.
	if s.batch.Bytes() > 4*maxPooledChunk {
		s.batch = o.client.NewBatch()
	} else {
		s.batch.Reset()
	}
	o.scratch.Put(s)
}

// FlushCopy copies src (Fluent Bit's buffer, valid during the call only)
// into a Go-owned buffer and flushes it, bounded by flush_timeout.
func (o *Output) FlushCopy(src []byte) Status {
	var buf *[]byte
	if p, ok := o.chunks.Get().(*[]byte); ok && cap(*p) >= len(src) {
		buf = p
	} else {
		b := make([]byte, 0, max(len(src), 64<<10))
		buf = &b
	}
	chunk := append((*buf)[:0], src...)
	// The copy is dead once encoded into the bulk body: give it back
	// before the network wait, so concurrent workers share fewer of them.
	return o.flush(context.Background(), chunk, func() {
		if cap(chunk) <= maxPooledChunk {
			*buf = chunk[:0]
			o.chunks.Put(buf)
		}
	})
}

// Flush decodes chunk, builds one document per event and sends them,
// synchronously, within flush_timeout. chunk is only read, and nothing
// refers to it after Flush returns.
func (o *Output) Flush(ctx context.Context, chunk []byte) Status {
	return o.flush(ctx, chunk, nil)
}

// flush is Flush calling release, if not nil, as soon as nothing refers to
// chunk any more (always before it returns).
func (o *Output) flush(ctx context.Context, chunk []byte, release func()) (st Status) {
	released := false
	releaseChunk := func() {
		if release != nil && !released {
			released = true
			release()
		}
	}
	defer releaseChunk()
	start := time.Now()
	o.mu.RLock()
	defer o.mu.RUnlock()
	if o.closed {
		o.log.Error("flush after exit: chunk rejected")
		return StatusError
	}
	o.stats.flushes.Add(1)
	defer func() {
		if r := recover(); r != nil {
			o.log.Error("panic in flush, asking Fluent Bit to retry", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			st = StatusRetry
		}
		switch st {
		case StatusOK:
			o.stats.ok.Add(1)
		case StatusRetry:
			o.stats.retry.Add(1)
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, o.cfg.FlushTimeout)
	defer cancel()

	s, err := o.getScratch()
	if err != nil {
		o.log.Error("flush", "error", err.Error())
		return StatusRetry
	}
	defer func() {
		if r := recover(); r != nil {
			panic(r) // a scratch that saw a panic is not reused
		}
		o.putScratch(s)
	}()

	n, err := o.build(s, chunk)
	var cerr *flbchunk.Error
	var bad []byte
	badAt := 0
	switch {
	case errors.As(err, &cerr):
		// The events before the offset are shipped; the rest can never
		// decode, so re-delivery would loop: dead-letter it instead.
		badAt = badEventStart(chunk, cerr)
		bad = append([]byte(nil), chunk[badAt:]...) // rare; chunk is released below
		o.stats.decodeErrors.Add(1)
	case err != nil:
		o.log.Error("flush: building documents", "error", err.Error())
		return StatusRetry
	}

	// Everything from chunk now lives in s.batch (encoded) or bad (copied).
	s.rec.Reset()
	releaseChunk()

	var res esbulk.Result
	if s.batch.Len() > 0 {
		res, err = o.client.Flush(ctx, s.batch)
		o.stats.delivered.Add(int64(res.Delivered))
		o.stats.duplicates.Add(int64(res.Duplicates))
		o.stats.deadLettered.Add(int64(res.DeadLettered))
		o.stats.failed.Add(int64(res.Failed))
		if err != nil || !res.Complete() {
			msg := res.FirstError
			if err != nil {
				msg = err.Error()
			}
			if ctx.Err() != nil {
				o.stats.timeouts.Add(1)
				msg = fmt.Sprintf("flush_timeout %v reached: %s", o.cfg.FlushTimeout, msg)
			}
			o.log.Warn("flush incomplete, Fluent Bit will retry the chunk",
				"records", n.records, "delivered", res.Delivered, "duplicates", res.Duplicates,
				"dead_lettered", res.DeadLettered, "failed", res.Failed, "error", msg,
				"elapsed", time.Since(start).Round(time.Millisecond).String())
			return StatusRetry
		}
	}
	if bad != nil {
		if err := o.dl.write(ctx, cerr, badAt, bad); err != nil {
			o.log.Error("undecodable chunk data could not be dead-lettered, Fluent Bit will retry",
				"offset", cerr.Offset, "bytes", len(bad), "reason", cerr.Reason, "error", err.Error())
			return StatusRetry
		}
		o.stats.rawDeadLettered.Add(int64(len(bad)))
		o.log.Error("undecodable chunk data dead-lettered", "offset", badAt, "error_offset", cerr.Offset, "events_before", cerr.Events,
			"bytes", len(bad), "reason", cerr.Reason, "dead_letter", o.dl.where())
	}
	o.log.Debug("flushed", "bytes", len(chunk), "records", n.records, "dropped", n.dropped,
		"delivered", res.Delivered, "duplicates", res.Duplicates, "dead_lettered", res.DeadLettered,
		"elapsed", time.Since(start).Round(time.Microsecond).String())
	return StatusOK
}

type built struct{ records, dropped int }

// badEventStart returns where the event that failed to decode begins: the
// end of the last good one. The number of complete events in chunk[:x]
// never decreases with x, so the smallest prefix holding cerr.Events of
// them is found by bisection with flbchunk.Count (this runs only for
// malformed chunks). The dead letter then holds whole events, not bytes
// cut in the middle of one.
func badEventStart(chunk []byte, cerr *flbchunk.Error) int {
	hi := min(max(cerr.Offset, 0), len(chunk))
	if cerr.Events <= 0 {
		return 0
	}
	lo := 0
	for lo < hi {
		mid := lo + (hi-lo)/2
		if n, _ := flbchunk.Count(chunk[:mid]); n >= cerr.Events {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// build decodes chunk into s.batch. The error is a *flbchunk.Error for
// malformed input (the events before it are in the batch) or an encoding
// error.
func (o *Output) build(s *scratch, chunk []byte) (built, error) {
	var n built
	err := s.dec.Decode(chunk, func(e *audit.Entry) error {
		n.records++
		if !s.b.Build(e, &s.rec) {
			n.dropped++
			return nil
		}
		return s.batch.Add(&s.rec)
	})
	o.stats.records.Add(int64(n.records))
	o.stats.dropped.Add(int64(n.dropped))
	return n, err
}

// Close waits for running flushes, closes the Elasticsearch client (its
// summary goroutine, idle connections, dead letter file) and logs the
// instance's totals. Flushes after Close return StatusError.
func (o *Output) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return nil
	}
	o.closed = true
	err := o.client.Close()
	if derr := o.dl.close(); err == nil {
		err = derr
	}
	st := o.Stats()
	o.log.Info("closed", "flushes", st.Flushes, "ok", st.OK, "retry", st.Retry, "records", st.Records,
		"dropped_by_policy", st.Dropped, "delivered", st.Delivered, "duplicates", st.Duplicates,
		"dead_lettered", st.DeadLettered, "undecodable_bytes", st.RawDeadLettered)
	return err
}

// Stats are an instance's totals since Init.
type Stats struct {
	Flushes, OK, Retry, Timeouts                int64
	Records, Dropped                            int64 // events decoded; dropped by mode/policy
	Delivered, Duplicates, DeadLettered, Failed int64 // per Elasticsearch outcome (a retried record counts again)
	DecodeErrors, RawDeadLettered               int64 // malformed chunks; their dead-lettered bytes
}

type counters struct {
	flushes, ok, retry, timeouts                atomic.Int64
	records, dropped                            atomic.Int64
	delivered, duplicates, deadLettered, failed atomic.Int64
	decodeErrors, rawDeadLettered               atomic.Int64
}

// Stats returns the totals.
func (o *Output) Stats() Stats {
	c := &o.stats
	return Stats{
		Flushes: c.flushes.Load(), OK: c.ok.Load(), Retry: c.retry.Load(), Timeouts: c.timeouts.Load(),
		Records: c.records.Load(), Dropped: c.dropped.Load(),
		Delivered: c.delivered.Load(), Duplicates: c.duplicates.Load(), DeadLettered: c.deadLettered.Load(), Failed: c.failed.Load(),
		DecodeErrors: c.decodeErrors.Load(), RawDeadLettered: c.rawDeadLettered.Load(),
	}
}

// NewLogger returns the plugin's logger: text lines on w (Fluent Bit's
// stderr) at level and above.
func NewLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}
