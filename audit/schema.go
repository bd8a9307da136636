package audit

import "strings"

// DefaultPrefix is prepended to every key parsed from MESSAGE.
const DefaultPrefix = "nri_"

// TimestampKey is the document's time field.
const TimestampKey = "@timestamp"

// Unprefixed names of the keys the pipeline derives (DESIGN.md §3.1 rule 3).
// A line key that sanitizes onto one of them gets a _2, _3, ... suffix.
const (
	KeyEvent       = "event"
	KeyOp          = "op"
	KeyField       = "field"
	KeyPluginName  = "plugin_name"
	KeyPluginIndex = "plugin_index"
	KeyRemoval     = "removal"
	KeyRuntime     = "runtime"
	KeyErrorPlugin = "error_plugin"
	KeyParseError  = "parse_error"
)

// Unprefixed names of line keys with a fixed role.
const (
	KeyMsg    = "msg"
	KeyLevel  = "level"
	KeyTime   = "time"
	KeyPlugin = "plugin" // from nri.plugin
)

// IsReserved reports whether an unprefixed, sanitized key is derived.
func IsReserved(key string) bool {
	switch key {
	case KeyEvent, KeyOp, KeyField, KeyPluginName, KeyPluginIndex, KeyRemoval,
		KeyRuntime, KeyErrorPlugin, KeyParseError:
		return true
	}
	return false
}

// SanitizeKey maps a line key to its document name without the prefix: a
// leading "nri." is dropped, and ".", "-", "/" and space become "_", case
// kept ("nri.plugin" → "plugin", "value.name" → "value_name").
func SanitizeKey(key string) string {
	key = strings.TrimPrefix(key, "nri.")
	if !needsSanitizing(key) {
		return key
	}
	b := []byte(key)
	for i, c := range b {
		if isSeparator(c) {
			b[i] = '_'
		}
	}
	return string(b)
}

// AppendSanitizedKey appends the sanitized form of key to dst.
func AppendSanitizedKey(dst []byte, key string) []byte {
	key = strings.TrimPrefix(key, "nri.")
	for i := 0; i < len(key); i++ {
		c := key[i]
		if isSeparator(c) {
			c = '_'
		}
		dst = append(dst, c)
	}
	return dst
}

func needsSanitizing(key string) bool {
	for i := 0; i < len(key); i++ {
		if isSeparator(key[i]) {
			return true
		}
	}
	return false
}

func isSeparator(c byte) bool { return c == '.' || c == '-' || c == '/' || c == ' ' }

// sanitizesTo reports whether SanitizeKey(raw) == sanitized, without
// allocating.
func sanitizesTo(raw, sanitized string) bool {
	raw = strings.TrimPrefix(raw, "nri.")
	if len(raw) != len(sanitized) {
		return false
	}
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if isSeparator(c) {
			c = '_'
		}
		if c != sanitized[i] {
			return false
		}
	}
	return true
}
