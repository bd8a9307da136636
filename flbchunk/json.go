package flbchunk

import (
	"fmt"
	"math"
	"strconv"

	"github.com/nri-audit/nri-audit/audit"
)

// json transcodes the object at c.p to JSON text appended to dst. Map keys
// keep the order they come in; a key that is not a str or bin becomes the
// JSON string of its own JSON text (1 → "1"). str and bin become JSON
// strings (invalid UTF-8 → U+FFFD), NaN and ±Inf become null, an EventTime
// becomes its RFC 3339 text and any other ext becomes null.
func (c *cursor) json(dst []byte, depth int) ([]byte, bool) {
	if depth > maxDepth {
		return dst, c.fail(c.p, fmt.Sprintf("value nested deeper than %d levels", maxDepth))
	}
	if c.p >= len(c.b) {
		return dst, c.fail(c.p, "truncated value")
	}
	switch t := c.b[c.p]; {
	case isStr(t):
		s, ok := c.str("value")
		if !ok {
			return dst, false
		}
		return audit.AppendJSONString(dst, s), true
	case t == 0xc0:
		c.p++
		return append(dst, "null"...), true
	case t == 0xc2:
		c.p++
		return append(dst, "false"...), true
	case t == 0xc3:
		c.p++
		return append(dst, "true"...), true
	case isNumber(t):
		v, ok := c.number()
		if !ok {
			return dst, false
		}
		return appendJSONNumber(dst, v), true
	case isArray(t):
		n, ok := c.arrayHeader("array")
		if !ok {
			return dst, false
		}
		dst = append(dst, '[')
		for i := 0; i < n; i++ {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, ok = c.json(dst, depth+1); !ok {
				return dst, false
			}
		}
		return append(dst, ']'), true
	case t&0xf0 == 0x80 || t == 0xde || t == 0xdf:
		n, ok := c.mapHeader("map")
		if !ok {
			return dst, false
		}
		dst = append(dst, '{')
		for i := 0; i < n; i++ {
			if i > 0 {
				dst = append(dst, ',')
			}
			if c.p < len(c.b) && isStr(c.b[c.p]) {
				k, ok := c.str("key")
				if !ok {
					return dst, false
				}
				dst = audit.AppendJSONString(dst, k)
			} else {
				// Rare: a number, bool, nil or container as a key.
				k, ok := c.json(nil, depth+1)
				if !ok {
					return dst, false
				}
				dst = audit.AppendJSONString(dst, string(k))
			}
			dst = append(dst, ':')
			if dst, ok = c.json(dst, depth+1); !ok {
				return dst, false
			}
		}
		return append(dst, '}'), true
	case isExt(t):
		typ, data, ok := c.ext()
		if !ok {
			return dst, false
		}
		if s, ok := eventTimeText(typ, data); ok {
			return audit.AppendJSONString(dst, s), true
		}
		return append(dst, "null"...), true
	}
	return dst, c.fail(c.p, fmt.Sprintf("value is %s", typeName(c.b[c.p])))
}

func appendJSONNumber(dst []byte, v num) []byte {
	switch v.kind {
	case numUint:
		return strconv.AppendUint(dst, v.u, 10)
	case numInt:
		return strconv.AppendInt(dst, v.i, 10)
	}
	if math.IsNaN(v.f) || math.IsInf(v.f, 0) {
		return append(dst, "null"...)
	}
	if v.kind == numFloat32 {
		return strconv.AppendFloat(dst, v.f, 'g', -1, 32)
	}
	return strconv.AppendFloat(dst, v.f, 'g', -1, 64)
}
