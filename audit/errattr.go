package audit

import (
	"strconv"
	"strings"
)

// ErrorPlugins appends to dst the plugins that text blames for an error, in
// the order it names them, skipping ones already in dst. It knows the shapes
// NRI produces (format doc §5.4):
//
//	plugin "10-x": <err>                          (pluginError, PoC commit 2)
//	plugins "10-a" and "11-b" both tried to set … (FieldOwners.Conflict)
//	validator "10-x" rejected container adjustment, reason: …
//	validator plugin 10-x failed: …
//	closing plugin 10-x, failed to handle <Event> request: …
//	plugin 10-x failed to handle <Event> request[, proceeding without it]: …
//
// Lifecycle lines (`plugin "10-x" connected and synchronized`) blame nobody.
func ErrorPlugins(dst []string, text string) []string {
	for off := 0; off < len(text); {
		i := strings.Index(text[off:], "plugin")
		j := strings.Index(text[off:], "validator \"")
		if i < 0 && j < 0 {
			break
		}
		if j >= 0 && (i < 0 || j < i) {
			at := off + j
			name, end, ok := quoted(text, at+len("validator "))
			if ok && (hasPrefixAt(text, end, " rejected") || hasPrefixAt(text, end, " failed") || hasPrefixAt(text, end, ":")) {
				dst = appendOwner(dst, name)
			}
			off = at + len("validator ")
			continue
		}
		at := off + i
		off = at + len("plugin")
		if at > 0 && isWordByte(text[at-1]) {
			continue
		}
		rest := at + len("plugin")
		switch {
		case hasPrefixAt(text, rest, "s \""): // plugins "A" and "B" both tried to set
			a, end, ok := quoted(text, rest+2)
			if !ok || !hasPrefixAt(text, end, " and ") {
				continue
			}
			b, end2, ok := quoted(text, end+len(" and "))
			if !ok {
				continue
			}
			dst = appendOwner(appendOwner(dst, a), b)
			off = end2
		case hasPrefixAt(text, rest, " \""):
			name, end, ok := quoted(text, rest+1)
			if ok && (hasPrefixAt(text, end, ":") || hasPrefixAt(text, end, " failed")) {
				dst = appendOwner(dst, name)
				off = end
			}
		case hasPrefixAt(text, rest, " "):
			start := rest + 1
			end := start
			for end < len(text) && text[end] != ' ' && text[end] != ',' && text[end] != ':' {
				end++
			}
			name := text[start:end]
			if name != "" && name[0] >= '0' && name[0] <= '9' &&
				(hasPrefixAt(text, end, " failed") || hasPrefixAt(text, end, ", failed")) {
				dst = appendOwner(dst, name)
				off = end
			}
		}
	}
	return dst
}

func hasPrefixAt(s string, at int, prefix string) bool {
	return at <= len(s) && strings.HasPrefix(s[at:], prefix)
}

func isWordByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// quoted reads a Go-quoted string starting at s[at] == '"' and returns its
// value and the index just past the closing quote.
func quoted(s string, at int) (string, int, bool) {
	if at >= len(s) || s[at] != '"' {
		return "", 0, false
	}
	escaped := false
	for i := at + 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			escaped = true
			i++
		case '"':
			v := s[at+1 : i]
			if escaped {
				u, err := strconv.Unquote(s[at : i+1])
				if err != nil {
					return "", 0, false
				}
				v = u
			}
			return v, i + 1, v != ""
		}
	}
	return "", 0, false
}

func appendOwner(dst []string, name string) []string {
	for _, d := range dst {
		if d == name {
			return dst
		}
	}
	return append(dst, name)
}
