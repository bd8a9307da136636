package shipper

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/nri-audit/nri-audit/audit"
	"github.com/nri-audit/nri-audit/esbulk"
)

// NDJSONSink writes one JSON document per line (what `nri-audit parse`
// prints, what Elasticsearch would store). A flush is acknowledged once the
// lines are written, and synced when the writer is a file.
type NDJSONSink struct {
	w    io.Writer
	sync func() error
	buf  []byte
	n    int
}

// NewNDJSONSink writes to w; when w is an *os.File that is a regular file,
// each flush ends with fsync, so a committed cursor never runs ahead of the
// data on disk.
func NewNDJSONSink(w io.Writer) *NDJSONSink {
	s := &NDJSONSink{w: w}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			s.sync = f.Sync
		}
	}
	return s
}

// Add appends r as one line.
func (s *NDJSONSink) Add(r *audit.Record) error {
	s.buf = r.AppendJSON(s.buf)
	s.buf = append(s.buf, '\n')
	s.n++
	return nil
}

// Len is the number of pending lines.
func (s *NDJSONSink) Len() int { return s.n }

// Bytes is the size of the pending lines.
func (s *NDJSONSink) Bytes() int { return len(s.buf) }

// Flush writes the pending lines. Write errors are permanent: a closed pipe
// or a full disk is for the operator to fix, and nothing is committed.
func (s *NDJSONSink) Flush(ctx context.Context) error {
	if len(s.buf) > 0 {
		if _, err := s.w.Write(s.buf); err != nil {
			return Permanent(fmt.Errorf("write: %w", err))
		}
	}
	if s.sync != nil && s.n > 0 {
		if err := s.sync(); err != nil {
			return Permanent(fmt.Errorf("fsync: %w", err))
		}
	}
	if cap(s.buf) > 16<<20 {
		s.buf = nil
	}
	s.buf, s.n = s.buf[:0], 0
	return nil
}

// ESSink sends batches with esbulk.
type ESSink struct {
	c *esbulk.Client
	b *esbulk.Batch
}

// NewESSink uses c; c stays the caller's to close.
func NewESSink(c *esbulk.Client) *ESSink { return &ESSink{c: c, b: c.NewBatch()} }

// Add encodes r into the pending bulk batch.
func (s *ESSink) Add(r *audit.Record) error { return s.b.Add(r) }

// Len is the number of pending records.
func (s *ESSink) Len() int { return s.b.Len() }

// Bytes is the size of the pending bulk body.
func (s *ESSink) Bytes() int { return s.b.Bytes() }

// Flush sends the batch; it succeeds only when every record is delivered,
// a duplicate (delivered before: a re-sent batch is all duplicates) or
// dead-lettered. Otherwise the whole batch stays for the next attempt.
func (s *ESSink) Flush(ctx context.Context) error {
	n := s.b.Len()
	if n == 0 {
		return nil
	}
	res, err := s.c.Flush(ctx, s.b)
	if err == nil && res.Complete() {
		s.b.Reset()
		return nil
	}
	if err == nil {
		err = fmt.Errorf("incomplete")
	}
	return fmt.Errorf("elasticsearch: %d of %d records not acknowledged (%d delivered, %d duplicates, %d dead-lettered; first error: %s): %w",
		res.Failed, n, res.Delivered, res.Duplicates, res.DeadLettered, res.FirstError, err)
}
