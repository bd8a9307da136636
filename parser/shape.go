package parser

import (
	"slices"
	"strings"

	"github.com/nri-audit/nri-audit/audit"
)

// Bounds on a remembered shape, so an entry with thousands of fields costs
// no more memory than it brings.
const (
	maxShapeFields = 256
	maxShapeBytes  = 16 << 10
)

// shape remembers the field names of the last entry whose journal fields
// took the simple path: every name plain, none that could meet a parsed or
// derived key (first byte of the prefix, or '@'), no name twice. The next
// entry with the same names in the same order, which is nearly every
// in_systemd record of one unit, then skips the work that depends on names
// alone: scanFields, nameInfo, the keep/drop patterns and the duplicate
// test. A miss costs one comparison pass; on a stream whose shapes keep
// changing, shapes are remembered at the 1st, 2nd, 4th, ... miss in a row
// (then every 1024th), so relearning stays cheap.
type shape struct {
	names  []shapeName
	bytes  int    // the names' total length
	keep   []bool // keep/drop result per field; nil when not selecting
	at     [identityCount + 1]int
	valid  bool
	misses uint32 // misses in a row since the last hit
}

// match reports whether e has the remembered names, and where its
// identity fields and MESSAGE are (scanFields' answer) when it does.
func (s *shape) match(e *audit.Entry) ([identityCount + 1]int, bool) {
	fs := e.Fields
	if s.valid && len(fs) == len(s.names) {
		names := s.names[:len(fs)]
		i := 0
		for ; i < len(fs); i++ {
			a, sn := fs[i].Name, &names[i]
			if len(a) != sn.n {
				break
			}
			if n := len(a); n >= 8 { // most journal names: two word compares
				if load64(a, 0) != sn.first || load64(a, n-8) != sn.last || (n > 16 && a != sn.long) {
					break
				}
			} else if first, last := shortWords(a); first != sn.first || last != sn.last {
				break
			}
		}
		if i == len(fs) {
			s.misses = 0
			return s.at, true
		}
	}
	s.misses++
	return s.at, false
}

// shapeName is a remembered name as match compares it: its length, its
// first and last eight bytes (two overlapping words cover a name of 8 to
// 16 bytes exactly) and, for a longer one, the name itself.
type shapeName struct {
	n           int
	first, last uint64
	long        string
}

func newShapeName(name string) shapeName {
	sn := shapeName{n: len(name)}
	if n := len(name); n >= 8 {
		sn.first, sn.last = load64(name, 0), load64(name, n-8)
		if n > 16 {
			sn.long = strings.Clone(name)
		}
	} else {
		sn.first, sn.last = shortWords(name)
	}
	return sn
}

// shortWords covers a name shorter than eight bytes.
func shortWords(a string) (first, last uint64) {
	if n := len(a); n >= 4 {
		return uint64(load32(a, 0)), uint64(load32(a, n-4))
	}
	return packShort(a), 0
}

// remember records e's names after the general path built e without
// finding a duplicate name, if the shape is simple; at is scanFields'
// answer for e.
func (s *shape) remember(b *Builder, e *audit.Entry, at [identityCount + 1]int) {
	if s.misses&(s.misses-1) != 0 && s.misses%1024 != 0 {
		return // the shapes keep changing: relearn less and less often
	}
	s.valid = false
	if len(e.Fields) > maxShapeFields {
		return
	}
	selecting := len(b.keep) > 0 || len(b.drop) > 0
	s.names, s.bytes, s.keep = s.names[:0], 0, s.keep[:0]
	for i := range e.Fields {
		name := e.Fields[i].Name
		if name != "" && (name[0] == b.prefix[0] || name[0] == '@') {
			return
		}
		if _, plain := nameInfo(name); !plain {
			return
		}
		if s.bytes += len(name); s.bytes > maxShapeBytes {
			return
		}
		s.names = append(s.names, newShapeName(name))
		if selecting {
			s.keep = append(s.keep, b.keepField(name))
		}
	}
	if !selecting {
		s.keep = nil
	}
	s.at, s.valid = at, true
}

// addJournalKnown adds the journal fields of an entry with the remembered
// shape: what the general loop in Build does for such names, without the
// per-name work. msgIdx is MESSAGE's position (-1 when absent).
func (b *Builder) addJournalKnown(e *audit.Entry, r *audit.Record, msgIdx int, parseFailed bool, message string) {
	keep := b.shape.keep
	// Room for every field up front; the loop writes each Field in place.
	r.Fields = slices.Grow(r.Fields, len(e.Fields))
	for i := range e.Fields {
		if keep != nil && !keep[i] && !(parseFailed && i == msgIdx) {
			continue
		}
		f := &e.Fields[i]
		switch {
		case i == msgIdx:
			r.AddPlainString(f.Name, b.rewriteMessage(message))
		case len(f.More) > 0:
			start := len(b.names)
			b.names = append(b.names, f.Value)
			b.names = append(b.names, f.More...)
			r.AddStrings(f.Name, b.names[start:]...)
			b.names = b.names[:start]
		default:
			n := len(r.Fields)
			r.Fields = r.Fields[:n+1]
			o := &r.Fields[n]
			o.Key, o.Str, o.Strs, o.Kind, o.PlainKey = f.Name, f.Value, nil, audit.String, true
		}
	}
}
