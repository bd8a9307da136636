package flbchunk

import (
	"fmt"
	"math"
	"strconv"
	"time"
	"unsafe"

	"github.com/nri-audit/nri-audit/audit"
)

// Group markers: Fluent Bit writes the start and end of a log group as
// events whose EventTime seconds are -1 and -2 as int32
// (include/fluent-bit/flb_log_event.h); its own decoder skips them.
const (
	groupStart = 0xFFFFFFFF
	groupEnd   = 0xFFFFFFFE
)

// maxDepth bounds the nesting of a map or array value transcoded to JSON,
// so a hostile chunk cannot drive the recursion arbitrarily deep.
const maxDepth = 64

// Error reports a malformed chunk.
type Error struct {
	// Offset is the byte offset in the chunk where the problem was found.
	Offset int
	// Events is the number of log events decoded (passed to fn, or counted)
	// before the bad one.
	Events int
	// Reason says what is wrong.
	Reason string
}

func (e *Error) Error() string {
	return fmt.Sprintf("flbchunk: malformed chunk at byte %d (after %d events): %s",
		e.Offset, e.Events, e.Reason)
}

// Decoder decodes chunks into audit.Entry values. Its scratch buffers are
// reused across events and chunks, so decoding does not allocate after
// warm-up (except for the rare numeric and nested values). The zero value
// is ready to use; a Decoder is not safe for concurrent use.
type Decoder struct {
	e    audit.Entry
	more []string // arena for the More values of repeated fields, per event
	buf  []byte   // scratch for JSON transcoding

	general bool // tests: decode every pair the general way, to check fastPairs
}

// Decode walks a Fluent Bit chunk (concatenated msgpack events) and calls fn
// once per log event with e filled. e is reused between calls: fn must
// finish with it before returning.
//
// Strings in e point into chunk without copying, so chunk must stay alive
// and unmodified while they are used; the numeric and JSON values that need
// new text are allocated and stay valid on their own. Group start/end
// markers are skipped.
//
// On malformed input Decode returns an *Error; the events before the bad
// one have already been passed to fn. An error returned by fn stops the
// walk and is returned unchanged. Decode never panics, whatever the bytes.
func (d *Decoder) Decode(chunk []byte, fn func(e *audit.Entry) error) error {
	defer d.release()
	c := cursor{b: chunk}
	e := &d.e
	events := 0
	for c.p < len(chunk) {
		sec, nsec, n, ok := c.envelope()
		if !ok {
			return c.err(events)
		}
		if sec == groupStart || sec == groupEnd {
			if !c.skip(2 * n) {
				return c.err(events)
			}
			continue
		}
		e.Fields = e.Fields[:0]
		e.Realtime = time.Unix(int64(sec), int64(nsec)).UTC()
		e.Cursor = ""
		d.more = d.more[:0]
		if !d.body(&c, n) {
			return c.err(events)
		}
		if err := fn(e); err != nil {
			return err
		}
		events++
	}
	return nil
}

// release drops the references into the last chunk, so a Decoder kept
// between flushes does not pin Fluent Bit's buffer copy.
func (d *Decoder) release() {
	clear(d.e.Fields[:cap(d.e.Fields)])
	d.e.Fields = d.e.Fields[:0]
	clear(d.more[:cap(d.more)])
	d.more = d.more[:0]
	d.e.Realtime = time.Time{}
}

// Count returns the number of log events in chunk (group markers excluded)
// without decoding their bodies. It checks the event structure and that
// every body is well-formed msgpack; it accepts everything Decode accepts,
// with the same count. On malformed input it returns the events counted
// before the bad one and an *Error.
func Count(chunk []byte) (int, error) {
	c := cursor{b: chunk}
	events := 0
	for c.p < len(chunk) {
		sec, _, n, ok := c.envelope()
		if !ok || !c.skip(2*n) {
			return events, c.err(events)
		}
		if sec != groupStart && sec != groupEnd {
			events++
		}
	}
	return events, nil
}

// body decodes n key/value pairs into d.e.Fields.
func (d *Decoder) body(c *cursor, n int) bool {
	for n > 0 {
		if !d.general {
			if k := d.fastPairs(c, n); k > 0 {
				n -= k
				continue
			}
		}
		n--
		key, ok := c.str("body key")
		if !ok {
			return false
		}
		if len(key) >= 2 && key[0] == '_' && key[1] == '_' {
			// Address fields (__CURSOR, ...) locate an entry; they are not data
			// (DESIGN.md §3.1 rule 14).
			if !c.skip(1) {
				return false
			}
			continue
		}
		if !d.value(c, key) {
			return false
		}
	}
	return true
}

// fastPairs decodes up to n pairs of the kind in_systemd writes for almost
// every field, a fixstr key (not an address field) and a fixstr or str8
// value, and returns how many it decoded; it gives exactly what the
// general path gives. It stops before anything else, or bytes that would
// not decode, and the general path decodes that pair (or reports the
// error). One loop with the cursor and the field slice in registers is
// most of the decoder's saving over a call per field.
func (d *Decoder) fastPairs(c *cursor, n int) int {
	b, p := c.b, c.p
	if len(b) == 0 {
		return 0
	}
	// Reads go through base once the bounds are checked: one comparison
	// per pair instead of one per index expression.
	base := unsafe.Pointer(unsafe.SliceData(b))
	at := func(i int) byte { return *(*byte)(unsafe.Add(base, i)) }
	fs := d.e.Fields
	done := 0
	for ; done < n; done++ {
		if p >= len(b) {
			break
		}
		h := at(p)
		if h&0xe0 != 0xa0 {
			break
		}
		kn := int(h & 0x1f)
		vh := p + 1 + kn
		if vh+1 >= len(b) {
			break // the general path handles a pair that ends the chunk
		}
		// b[p : vh+2] is in range: key header, key, value header, one more byte.
		if kn >= 2 && at(p+1) == '_' && at(p+2) == '_' {
			break
		}
		var v, vn int
		if t := at(vh); t&0xe0 == 0xa0 {
			v, vn = vh+1, int(t&0x1f)
		} else if t == 0xd9 {
			v, vn = vh+2, int(at(vh+1))
		} else {
			break
		}
		if vn > len(b)-v {
			break
		}
		if len(fs) == cap(fs) {
			fs = append(fs, audit.JournalField{})
		} else {
			fs = fs[:len(fs)+1]
		}
		f := &fs[len(fs)-1]
		f.Name = unsafe.String((*byte)(unsafe.Add(base, p+1)), kn)
		f.Value = ""
		if vn > 0 {
			f.Value = unsafe.String((*byte)(unsafe.Add(base, v)), vn)
		}
		f.More = nil
		p = v + vn
	}
	d.e.Fields = fs
	c.p = p
	return done
}

// value decodes the value of key and appends the field (unless the value
// means "absent").
func (d *Decoder) value(c *cursor, key string) bool {
	if c.p >= len(c.b) {
		return c.fail(c.p, "truncated before a value")
	}
	switch t := c.b[c.p]; {
	case isStr(t):
		s, ok := c.str("value")
		if !ok {
			return false
		}
		d.add(key, s)
	case t == 0xc0: // nil: absent
		c.p++
	case t&0xf0 == 0x90 || t == 0xdc || t == 0xdd:
		return d.array(c, key)
	case t&0xf0 == 0x80 || t == 0xde || t == 0xdf:
		return d.jsonField(c, key)
	case isExt(t):
		typ, data, ok := c.ext()
		if !ok {
			return false
		}
		// Other ext types carry nothing a document can hold: absent.
		if s, ok := eventTimeText(typ, data); ok {
			d.add(key, s)
		}
	default:
		s, present, ok := c.scalar()
		if !ok {
			return false
		}
		if present {
			d.add(key, s)
		}
	}
	return true
}

// add appends a single-valued field, written in place: appending a
// composite literal would build it on the stack and copy it, a
// store-forwarding stall per field.
func (d *Decoder) add(key, value string) {
	fs := d.e.Fields
	n := len(fs)
	if n == cap(fs) {
		fs = append(fs, audit.JournalField{})
	} else {
		fs = fs[:n+1]
	}
	f := &fs[n]
	f.Name, f.Value, f.More = key, value, nil
	d.e.Fields = fs
}

// array decodes an array value. An array of scalars (in_systemd's repeated
// journal field) becomes Value plus More, nil elements dropped; an array
// holding maps, arrays or ext values is kept whole as JSON text.
func (d *Decoder) array(c *cursor, key string) bool {
	start := c.p
	n, ok := c.arrayHeader("array")
	if !ok {
		return false
	}
	mark := len(d.more)
	for ; n > 0; n-- {
		if c.p >= len(c.b) {
			return c.fail(c.p, "truncated array")
		}
		if t := c.b[c.p]; !isScalar(t) {
			d.more = d.more[:mark]
			c.p = start
			return d.jsonField(c, key)
		}
		s, present, ok := c.scalar()
		if !ok {
			return false
		}
		if present {
			d.more = append(d.more, s)
		}
	}
	vals := d.more[mark:]
	switch len(vals) {
	case 0: // empty: absent
	case 1:
		d.add(key, vals[0])
		d.more = d.more[:mark]
	default:
		// Capacity-limited so that an append by fn cannot clobber the arena.
		d.e.Fields = append(d.e.Fields, audit.JournalField{
			Name: key, Value: vals[0], More: vals[1:len(vals):len(vals)],
		})
	}
	return true
}

// jsonField transcodes the map or array at c.p into JSON text. The text is
// copied into its own string: d.buf is reused by the next nested value.
func (d *Decoder) jsonField(c *cursor, key string) bool {
	buf, ok := c.json(d.buf[:0], 0)
	d.buf = buf
	if !ok {
		return false
	}
	d.add(key, string(buf))
	return true
}

// cursor walks msgpack bytes. Methods return false on malformed input and
// record the first problem.
type cursor struct {
	b      []byte
	p      int
	errAt  int
	reason string
}

func (c *cursor) fail(at int, reason string) bool {
	if c.reason == "" {
		c.errAt, c.reason = at, reason
	}
	return false
}

func (c *cursor) err(events int) error {
	return &Error{Offset: c.errAt, Events: events, Reason: c.reason}
}

// envelope reads an event up to its body: the root array, the timestamp
// (directly, or in the [time, metadata] header whose metadata it skips),
// and the body's map header. It returns the time and the number of body
// pairs, leaving c at the first body key.
func (c *cursor) envelope() (sec uint64, nsec uint32, pairs int, ok bool) {
	start := c.p
	n, ok := c.arrayHeader("event")
	if !ok {
		return 0, 0, 0, false
	}
	if n != 2 {
		return 0, 0, 0, c.fail(start, fmt.Sprintf("event is an array of %d elements, not 2", n))
	}
	if c.p < len(c.b) && isArray(c.b[c.p]) {
		at := c.p
		if n, ok = c.arrayHeader("event header"); !ok {
			return 0, 0, 0, false
		}
		if n != 2 {
			return 0, 0, 0, c.fail(at, fmt.Sprintf("event header is an array of %d elements, not [time, metadata]", n))
		}
		if sec, nsec, ok = c.timestamp(); !ok {
			return 0, 0, 0, false
		}
		m, ok := c.mapHeader("metadata")
		if !ok || !c.skip(2*m) {
			return 0, 0, 0, false
		}
	} else if sec, nsec, ok = c.timestamp(); !ok {
		return 0, 0, 0, false
	}
	if pairs, ok = c.mapHeader("body"); !ok {
		return 0, 0, 0, false
	}
	return sec, nsec, pairs, true
}

// timestamp reads an event time: EventTime (ext type 0, 8 bytes), a
// non-negative integer or a float, all in seconds.
func (c *cursor) timestamp() (sec uint64, nsec uint32, ok bool) {
	at := c.p
	if at >= len(c.b) {
		return 0, 0, c.fail(at, "truncated before the event time")
	}
	t := c.b[at]
	switch {
	case isExt(t):
		typ, data, ok := c.ext()
		if !ok {
			return 0, 0, false
		}
		if typ != 0 || len(data) != 8 {
			return 0, 0, c.fail(at, fmt.Sprintf("event time is ext type %d with %d bytes, not EventTime (type 0, 8 bytes)", typ, len(data)))
		}
		return uint64(be32(data)), be32(data[4:]), true
	case isNumber(t):
		v, ok := c.number()
		if !ok {
			return 0, 0, false
		}
		switch v.kind {
		case numUint:
			sec = v.u
		case numInt:
			if v.i < 0 {
				return 0, 0, c.fail(at, fmt.Sprintf("negative event time %d", v.i))
			}
			sec = uint64(v.i)
		default:
			if !(v.f >= 0 && v.f < math.MaxInt64) {
				return 0, 0, c.fail(at, fmt.Sprintf("event time %v out of range", v.f))
			}
			sec = uint64(v.f)
			// As Fluent Bit does: the fraction becomes nanoseconds.
			return sec, uint32((v.f - float64(sec)) * 1e9), true
		}
		if sec > math.MaxInt64 {
			return 0, 0, c.fail(at, fmt.Sprintf("event time %d out of range", sec))
		}
		return sec, 0, true
	}
	return 0, 0, c.fail(at, fmt.Sprintf("event time is %s, not EventTime, an integer or a float", typeName(t)))
}

// arrayHeader reads an array header and returns its element count, which
// it checks against the bytes left (every element takes at least one).
func (c *cursor) arrayHeader(what string) (int, bool) {
	b, p := c.b, c.p
	if p >= len(b) {
		return 0, c.fail(p, "truncated before the "+what)
	}
	var n uint64
	switch t := b[p]; {
	case t&0xf0 == 0x90:
		n, c.p = uint64(t&0x0f), p+1
	case t == 0xdc:
		if len(b)-p < 3 {
			return 0, c.fail(p, "truncated array16 header")
		}
		n, c.p = uint64(be16(b[p+1:])), p+3
	case t == 0xdd:
		if len(b)-p < 5 {
			return 0, c.fail(p, "truncated array32 header")
		}
		n, c.p = uint64(be32(b[p+1:])), p+5
	default:
		return 0, c.fail(p, fmt.Sprintf("%s is %s, not an array", what, typeName(t)))
	}
	if n > uint64(len(b)-c.p) {
		return 0, c.fail(p, fmt.Sprintf("%s of %d elements exceeds the chunk", what, n))
	}
	return int(n), true
}

// mapHeader reads a map header and returns its pair count, checked against
// the bytes left.
func (c *cursor) mapHeader(what string) (int, bool) {
	b, p := c.b, c.p
	if p >= len(b) {
		return 0, c.fail(p, "truncated before the "+what)
	}
	var n uint64
	switch t := b[p]; {
	case t&0xf0 == 0x80:
		n, c.p = uint64(t&0x0f), p+1
	case t == 0xde:
		if len(b)-p < 3 {
			return 0, c.fail(p, "truncated map16 header")
		}
		n, c.p = uint64(be16(b[p+1:])), p+3
	case t == 0xdf:
		if len(b)-p < 5 {
			return 0, c.fail(p, "truncated map32 header")
		}
		n, c.p = uint64(be32(b[p+1:])), p+5
	default:
		return 0, c.fail(p, fmt.Sprintf("%s is %s, not a map", what, typeName(t)))
	}
	if 2*n > uint64(len(b)-c.p) {
		return 0, c.fail(p, fmt.Sprintf("%s of %d pairs exceeds the chunk", what, n))
	}
	return int(n), true
}

// str reads a str or bin object as a string viewing the chunk's bytes.
func (c *cursor) str(what string) (string, bool) {
	b, p := c.b, c.p
	if p >= len(b) {
		return "", c.fail(p, "truncated before a "+what)
	}
	var n uint64
	var h int
	switch t := b[p]; t {
	case 0xd9, 0xc4:
		if len(b)-p < 2 {
			return "", c.fail(p, "truncated str8/bin8 header")
		}
		n, h = uint64(b[p+1]), 2
	case 0xda, 0xc5:
		if len(b)-p < 3 {
			return "", c.fail(p, "truncated str16/bin16 header")
		}
		n, h = uint64(be16(b[p+1:])), 3
	case 0xdb, 0xc6:
		if len(b)-p < 5 {
			return "", c.fail(p, "truncated str32/bin32 header")
		}
		n, h = uint64(be32(b[p+1:])), 5
	default:
		if t&0xe0 != 0xa0 {
			return "", c.fail(p, fmt.Sprintf("%s is %s, not a string", what, typeName(t)))
		}
		n, h = uint64(t&0x1f), 1
	}
	if n > uint64(len(b)-p-h) {
		return "", c.fail(p, fmt.Sprintf("%s of %d bytes exceeds the chunk", what, n))
	}
	c.p = p + h + int(n)
	if n == 0 {
		return "", true
	}
	return unsafe.String(&b[p+h], int(n)), true
}

// ext reads an ext object of any encoding.
func (c *cursor) ext() (typ int8, data []byte, ok bool) {
	b, p := c.b, c.p
	var n uint64
	var h int
	switch b[p] {
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8: // fixext 1, 2, 4, 8, 16
		n, h = 1<<(b[p]-0xd4), 2
	case 0xc7:
		if len(b)-p < 3 {
			return 0, nil, c.fail(p, "truncated ext8 header")
		}
		n, h = uint64(b[p+1]), 3
	case 0xc8:
		if len(b)-p < 4 {
			return 0, nil, c.fail(p, "truncated ext16 header")
		}
		n, h = uint64(be16(b[p+1:])), 4
	default: // 0xc9
		if len(b)-p < 6 {
			return 0, nil, c.fail(p, "truncated ext32 header")
		}
		n, h = uint64(be32(b[p+1:])), 6
	}
	if len(b)-p < h || n > uint64(len(b)-p-h) {
		return 0, nil, c.fail(p, "truncated ext")
	}
	c.p = p + h + int(n)
	return int8(b[p+h-1]), b[p+h : c.p], true
}

type numKind uint8

const (
	numUint numKind = iota
	numInt
	numFloat32
	numFloat64
)

type num struct {
	kind numKind
	u    uint64
	i    int64
	f    float64
}

// number reads an integer or a float.
func (c *cursor) number() (num, bool) {
	b, p := c.b, c.p
	t := b[p]
	if t <= 0x7f {
		c.p++
		return num{kind: numUint, u: uint64(t)}, true
	}
	if t >= 0xe0 {
		c.p++
		return num{kind: numInt, i: int64(int8(t))}, true
	}
	size := 1 << ((t - 0xcc) & 3) // cc..cf and d0..d3: 1, 2, 4, 8 bytes
	if t == 0xca {
		size = 4
	} else if t == 0xcb {
		size = 8
	}
	if len(b)-p-1 < size {
		return num{}, c.fail(p, "truncated number")
	}
	c.p = p + 1 + size
	v := b[p+1 : p+1+size]
	switch t {
	case 0xca:
		return num{kind: numFloat32, f: float64(math.Float32frombits(be32(v)))}, true
	case 0xcb:
		return num{kind: numFloat64, f: math.Float64frombits(be64(v))}, true
	case 0xcc:
		return num{kind: numUint, u: uint64(v[0])}, true
	case 0xcd:
		return num{kind: numUint, u: uint64(be16(v))}, true
	case 0xce:
		return num{kind: numUint, u: uint64(be32(v))}, true
	case 0xcf:
		return num{kind: numUint, u: be64(v)}, true
	case 0xd0:
		return num{kind: numInt, i: int64(int8(v[0]))}, true
	case 0xd1:
		return num{kind: numInt, i: int64(int16(be16(v)))}, true
	case 0xd2:
		return num{kind: numInt, i: int64(int32(be32(v)))}, true
	default: // 0xd3
		return num{kind: numInt, i: int64(be64(v))}, true
	}
}

// text renders a number as the decimal text a field holds.
func (v num) text() string {
	switch v.kind {
	case numUint:
		return strconv.FormatUint(v.u, 10)
	case numInt:
		return strconv.FormatInt(v.i, 10)
	case numFloat32:
		return strconv.FormatFloat(v.f, 'g', -1, 32)
	default:
		return strconv.FormatFloat(v.f, 'g', -1, 64)
	}
}

// scalar reads a str, bin, nil, bool or number as a field value; present
// is false for nil.
func (c *cursor) scalar() (s string, present, ok bool) {
	switch t := c.b[c.p]; {
	case isStr(t):
		s, ok = c.str("value")
		return s, ok, ok
	case t == 0xc0:
		c.p++
		return "", false, true
	case t == 0xc2:
		c.p++
		return "false", true, true
	case t == 0xc3:
		c.p++
		return "true", true, true
	case isNumber(t):
		v, ok := c.number()
		if !ok {
			return "", false, false
		}
		return v.text(), true, true
	}
	return "", false, c.fail(c.p, fmt.Sprintf("value is %s", typeName(c.b[c.p])))
}

// skip steps over n objects without decoding them, checking that they are
// well-formed. It walks iteratively (no recursion), so nesting depth does
// not matter; pending counts the objects still to step over.
func (c *cursor) skip(n int) bool {
	b, p := c.b, c.p
	pending := uint64(n)
	for pending > 0 {
		if p >= len(b) {
			return c.fail(p, "truncated")
		}
		pending--
		t := b[p]
		var size, count uint64 // bytes to step over, objects it contains
		switch {
		case t <= 0x7f || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3:
			size = 1
		case t <= 0x8f:
			size, count = 1, 2*uint64(t&0x0f)
		case t <= 0x9f:
			size, count = 1, uint64(t&0x0f)
		case t <= 0xbf:
			size = 1 + uint64(t&0x1f)
		case t == 0xc1:
			return c.fail(p, "reserved byte 0xc1")
		case t == 0xca || t == 0xce || t == 0xd2:
			size = 5
		case t == 0xcb || t == 0xcf || t == 0xd3:
			size = 9
		case t == 0xcc || t == 0xd0:
			size = 2
		case t == 0xcd || t == 0xd1:
			size = 3
		case t >= 0xd4 && t <= 0xd8:
			size = 2 + 1<<(t-0xd4)
		default:
			// Headers with a length or count field.
			var h int
			switch t {
			case 0xc4, 0xd9, 0xc7:
				h = 2
			case 0xc5, 0xda, 0xc8, 0xdc, 0xde:
				h = 3
			default: // c6 db c9 dd df
				h = 5
			}
			if len(b)-p < h {
				return c.fail(p, "truncated header")
			}
			var v uint64
			switch h {
			case 2:
				v = uint64(b[p+1])
			case 3:
				v = uint64(be16(b[p+1:]))
			default:
				v = uint64(be32(b[p+1:]))
			}
			switch t {
			case 0xdc, 0xdd:
				size, count = uint64(h), v
			case 0xde, 0xdf:
				size, count = uint64(h), 2*v
			case 0xc7, 0xc8, 0xc9:
				size = uint64(h) + 1 + v // the ext type byte follows the length
			default:
				size = uint64(h) + v
			}
		}
		if size > uint64(len(b)-p) {
			return c.fail(p, "truncated")
		}
		p += int(size)
		pending += count
		if pending > uint64(len(b)-p) {
			return c.fail(p, "container length exceeds the chunk")
		}
	}
	c.p = p
	return true
}

// eventTimeText renders an EventTime value (ext type 0, 8 bytes) as
// RFC 3339 text in UTC; ok is false for any other ext.
func eventTimeText(typ int8, data []byte) (string, bool) {
	if typ != 0 || len(data) != 8 {
		return "", false
	}
	t := time.Unix(int64(be32(data)), int64(be32(data[4:]))).UTC()
	return t.Format(time.RFC3339Nano), true
}

func isStr(t byte) bool {
	return t&0xe0 == 0xa0 || t == 0xd9 || t == 0xda || t == 0xdb || t == 0xc4 || t == 0xc5 || t == 0xc6
}

func isArray(t byte) bool { return t&0xf0 == 0x90 || t == 0xdc || t == 0xdd }

func isExt(t byte) bool { return (t >= 0xd4 && t <= 0xd8) || (t >= 0xc7 && t <= 0xc9) }

func isNumber(t byte) bool { return t <= 0x7f || t >= 0xe0 || (t >= 0xca && t <= 0xd3) }

// isScalar reports whether t starts a str, bin, nil, bool or number.
func isScalar(t byte) bool {
	return isStr(t) || isNumber(t) || t == 0xc0 || t == 0xc2 || t == 0xc3
}

// typeName names the msgpack type that t starts, for error messages.
func typeName(t byte) string {
	switch {
	case isStr(t):
		return "a string"
	case isArray(t):
		return "an array"
	case t&0xf0 == 0x80 || t == 0xde || t == 0xdf:
		return "a map"
	case isExt(t):
		return "an ext"
	case isNumber(t):
		return "a number"
	case t == 0xc0:
		return "nil"
	case t == 0xc2 || t == 0xc3:
		return "a bool"
	}
	return fmt.Sprintf("the reserved byte 0x%02x", t)
}

func be16(b []byte) uint16 { _ = b[1]; return uint16(b[0])<<8 | uint16(b[1]) }

func be32(b []byte) uint32 {
	_ = b[3]
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func be64(b []byte) uint64 { _ = b[7]; return uint64(be32(b))<<32 | uint64(be32(b[4:])) }
