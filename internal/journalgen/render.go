package journalgen

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"time"
)

// kv is one logrus field, pre-rendered the two ways logrus writes it: text
// is fmt.Sprint of the value (quoted later when needed), js the value as
// encoding/json writes it (HTML escaping on, as logrus' JSONFormatter).
type kv struct {
	key  string
	text string
	js   string
}

func jsonOf(v any) string {
	b, err := json.Marshal(v) // HTML escaping on, like logrus
	if err != nil {
		return `""`
	}
	return string(b)
}

func str(k, v string) kv       { return kv{k, v, jsonOf(v)} }
func num(k string, v int64) kv { return kv{k, strconv.FormatInt(v, 10), strconv.FormatInt(v, 10)} }
func unum(k string, v uint64) kv {
	return kv{k, strconv.FormatUint(v, 10), strconv.FormatUint(v, 10)}
}
func boolean(k string, v bool) kv { return kv{k, strconv.FormatBool(v), strconv.FormatBool(v)} }

// list is a []string: fmt.Sprint in text, an array in JSON.
func list(k string, v ...string) kv {
	return kv{k, "[" + strings.Join(v, " ") + "]", jsonOf(v)}
}

// proto is a protobuf message with one string field: protobuf text format in
// text, an object in JSON.
func proto(k, field, v string) kv {
	return kv{k, field + ":" + strconv.Quote(v), jsonOf(map[string]string{field: v})}
}

// ptr is an *int64 as the legacy device rule logs it: the pointer address
// (or <nil>) in text, the number (or null) in JSON.
func ptr(k string, addr uint64, v *int64) kv {
	if v == nil {
		return kv{k, "<nil>", "null"}
	}
	return kv{k, "0x" + strconv.FormatUint(addr, 16), strconv.FormatInt(*v, 10)}
}

// needsQuoting is logrus' TextFormatter rule: bare only when every byte is
// in [A-Za-z0-9-._/@^+]; empty values stay bare.
func needsQuoting(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '/' || c == '@' || c == '^' || c == '+') {
			return true
		}
	}
	return false
}

func appendTextValue(dst []byte, s string) []byte {
	if needsQuoting(s) {
		return strconv.AppendQuote(dst, s)
	}
	return append(dst, s...)
}

// Timestamp layouts of the runtimes (format doc §3).
const (
	layoutContainerd = "2006-01-02T15:04:05.000000000Z07:00" // RFC3339NanoFixed
	layoutCRIOOld    = "2006-01-02 15:04:05.000000000Z07:00" // CRI-O ≤ 1.31
)

// style is how a runtime renders its log lines.
type style uint8

const (
	containerdText style = iota
	containerdJSON
	crioText    // CRI-O ≥ 1.32: RFC3339Nano, trailing zeros trimmed
	crioTextOld // CRI-O ≤ 1.31: space between date and time, 9 digits
	crioJSON    // second precision
)

func (s style) runtime() string {
	if s == containerdText || s == containerdJSON {
		return "containerd"
	}
	return "crio"
}

func (s style) timeText(t time.Time) string {
	t = t.UTC()
	switch s {
	case crioText:
		return t.Format(time.RFC3339Nano)
	case crioTextOld:
		return t.Format(layoutCRIOOld)
	case crioJSON:
		return t.Format(time.RFC3339)
	}
	return t.Format(layoutContainerd)
}

// renderLine writes one logrus line: text is time, level, msg, then the data
// keys sorted; JSON has every key sorted.
func renderLine(dst []byte, s style, t time.Time, level, msg string, kvs []kv) []byte {
	sort.SliceStable(kvs, func(i, j int) bool { return kvs[i].key < kvs[j].key })
	ts := s.timeText(t)
	if s == containerdJSON || s == crioJSON {
		all := make([]kv, 0, len(kvs)+3)
		all = append(all, kvs...)
		all = append(all, str("level", level), str("msg", msg), str("time", ts))
		sort.SliceStable(all, func(i, j int) bool { return all[i].key < all[j].key })
		dst = append(dst, '{')
		for i, f := range all {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, jsonOf(f.key)...)
			dst = append(dst, ':')
			dst = append(dst, f.js...)
		}
		return append(dst, '}')
	}
	dst = append(dst, "time="...)
	dst = appendTextValue(dst, ts)
	dst = append(dst, " level="...)
	dst = appendTextValue(dst, level)
	dst = append(dst, " msg="...)
	dst = appendTextValue(dst, msg)
	for _, f := range kvs {
		dst = append(dst, ' ')
		dst = append(dst, f.key...)
		dst = append(dst, '=')
		dst = appendTextValue(dst, f.text)
	}
	return dst
}
