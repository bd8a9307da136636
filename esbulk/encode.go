package esbulk

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nri-audit/nri-audit/audit"
)

// target renders the _index of a record: a fixed name or a date pattern.
type target struct {
	fixed  string    // the name when the pattern has no directive
	parts  []segment // the pattern otherwise
	hourly bool      // the pattern uses %H
}

type segment struct {
	lit  string
	verb byte // 'Y', 'm', 'd', 'H' or 0 for a literal
}

// parseTarget compiles an index pattern and checks the names it produces.
func parseTarget(pattern string) (target, error) {
	var t target
	if !strings.Contains(pattern, "%") {
		if err := validIndexName(pattern); err != nil {
			return t, err
		}
		t.fixed = pattern
		return t, nil
	}
	var lit []byte
	flush := func() {
		if len(lit) > 0 {
			t.parts = append(t.parts, segment{lit: string(lit)})
			lit = lit[:0]
		}
	}
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		if c != '%' {
			lit = append(lit, c)
			continue
		}
		if i+1 == len(pattern) {
			return t, fmt.Errorf("pattern %q ends with %%", pattern)
		}
		i++
		switch v := pattern[i]; v {
		case '%':
			lit = append(lit, '%')
		case 'Y', 'm', 'd', 'H':
			flush()
			t.parts = append(t.parts, segment{verb: v})
			t.hourly = t.hourly || v == 'H'
		default:
			return t, fmt.Errorf("pattern %q: unknown directive %%%c (want %%Y, %%m, %%d, %%H or %%%%)", pattern, v)
		}
	}
	flush()
	// Check the names the pattern gives for the extremes of each field.
	for _, ts := range []time.Time{
		time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2099, 12, 31, 23, 0, 0, 0, time.UTC),
	} {
		if err := validIndexName(string(t.append(nil, ts))); err != nil {
			return t, fmt.Errorf("pattern %q: %w", pattern, err)
		}
	}
	if len(t.parts) == 1 && t.parts[0].verb == 0 {
		t.fixed, t.parts = t.parts[0].lit, nil // only %% escapes
	}
	return t, nil
}

// append renders the index name for a time (UTC).
func (t *target) append(dst []byte, ts time.Time) []byte {
	if t.parts == nil {
		return append(dst, t.fixed...)
	}
	ts = ts.UTC()
	year, month, day := ts.Date()
	if year < 0 {
		year = 0 // index names cannot start with '-'; such records are dead-lettered anyway
	}
	for _, p := range t.parts {
		switch p.verb {
		case 0:
			dst = append(dst, p.lit...)
		case 'Y':
			dst = appendPadded(dst, year, 4)
		case 'm':
			dst = appendPadded(dst, int(month), 2)
		case 'd':
			dst = appendPadded(dst, day, 2)
		case 'H':
			dst = appendPadded(dst, ts.Hour(), 2)
		}
	}
	return dst
}

// key identifies the time bucket an index name depends on: the UTC day
// (or hour) as a count from the Unix epoch. Package time has no leap
// seconds, so every bucket is exactly 86400 (3600) seconds long and starts
// at a multiple of that; this avoids a calendar conversion per record.
func (t *target) key(ts time.Time) int64 {
	if t.parts == nil {
		return 0
	}
	span := int64(24 * 3600)
	if t.hourly {
		span = 3600
	}
	sec := ts.Unix()
	k := sec / span
	if sec%span < 0 {
		k-- // floor, for times before 1970
	}
	return k
}

func appendPadded(dst []byte, v, width int) []byte {
	var b [20]byte
	i := len(b)
	for v > 0 || width > 0 {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		width--
	}
	return append(dst, b[i:]...)
}

// span locates one record in a batch buffer: the action line starts at
// start, the document at doc, and the record ends after its newline at end.
type span struct {
	start, doc, end int
}

// Outcome is what happened to one record of a flushed batch.
type Outcome uint8

// Outcomes of a record.
const (
	Pending      Outcome = iota // not flushed yet
	Delivered                   // indexed (2xx)
	Duplicate                   // already indexed (409 on create)
	DeadLettered                // permanently rejected, written to the dead letter
	Failed                      // not accounted for: the caller must re-send it
)

func (o Outcome) String() string {
	switch o {
	case Pending:
		return "pending"
	case Delivered:
		return "delivered"
	case Duplicate:
		return "duplicate"
	case DeadLettered:
		return "dead-lettered"
	case Failed:
		return "failed"
	}
	return fmt.Sprintf("Outcome(%d)", uint8(o))
}

// ErrNoID is returned by Add for a record without a document id: without
// one a retry could not be recognised as a duplicate.
var ErrNoID = errors.New("esbulk: record has no id")

// Batch is a set of encoded records: the bulk body and where each record
// lies in it. It is not safe for concurrent use; Reset and reuse it.
type Batch struct {
	tgt      *target
	buf      []byte
	items    []span
	outcomes []Outcome

	lastKey   int64
	lastIndex []byte // escaped index name for lastKey
	hasLast   bool
}

// NewBatch returns an empty batch for this client's target.
func (c *Client) NewBatch() *Batch {
	return &Batch{tgt: &c.target, buf: make([]byte, 0, 64<<10)}
}

// Add encodes r (action line and document) into the batch. The batch keeps
// no reference to r, so the caller may reuse it at once.
func (b *Batch) Add(r *audit.Record) error {
	if r.ID == ([audit.IDSize]byte{}) {
		return ErrNoID
	}
	start := len(b.buf)
	b.buf = append(b.buf, `{"create":{"_index":"`...)
	if b.tgt.parts == nil {
		b.buf = append(b.buf, b.tgt.fixed...)
	} else {
		k := b.tgt.key(r.Timestamp)
		if !b.hasLast || k != b.lastKey {
			b.lastIndex = b.tgt.append(b.lastIndex[:0], r.Timestamp)
			b.lastKey, b.hasLast = k, true
		}
		b.buf = append(b.buf, b.lastIndex...)
	}
	b.buf = append(b.buf, `","_id":"`...)
	b.buf = r.AppendID(b.buf)
	b.buf = append(b.buf, "\"}}\n"...)
	doc := len(b.buf)
	b.buf = r.AppendJSON(b.buf)
	b.buf = append(b.buf, '\n')
	b.items = append(b.items, span{start: start, doc: doc, end: len(b.buf)})
	b.outcomes = append(b.outcomes, Pending)
	return nil
}

// Len is the number of records in the batch.
func (b *Batch) Len() int { return len(b.items) }

// Bytes is the size of the bulk body (uncompressed).
func (b *Batch) Bytes() int { return len(b.buf) }

// Reset empties the batch, keeping its memory.
func (b *Batch) Reset() {
	b.buf = b.buf[:0]
	b.items = b.items[:0]
	b.outcomes = b.outcomes[:0]
}

// Outcome reports what the last Flush did with record i (in Add order);
// a shipper commits its cursor up to the first record that is not
// Delivered, Duplicate or DeadLettered.
func (b *Batch) Outcome(i int) Outcome { return b.outcomes[i] }

// Document returns the encoded JSON document of record i (no newline). The
// slice is valid until the batch is reset.
func (b *Batch) Document(i int) []byte {
	s := b.items[i]
	return b.buf[s.doc : s.end-1]
}

// meta returns the index and id of record i, read back from its action line.
func (b *Batch) meta(i int) (index, id string) {
	line := b.buf[b.items[i].start:b.items[i].doc]
	const ik, dk = `"_index":"`, `"_id":"`
	if j := strings.Index(string(line), ik); j >= 0 {
		rest := line[j+len(ik):]
		if k := strings.IndexByte(string(rest), '"'); k >= 0 {
			index = string(rest[:k])
		}
	}
	if j := strings.Index(string(line), dk); j >= 0 {
		rest := line[j+len(dk):]
		if k := strings.IndexByte(string(rest), '"'); k >= 0 {
			id = string(rest[:k])
		}
	}
	return index, id
}
