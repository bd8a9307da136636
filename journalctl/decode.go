package journalctl

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/nri-audit/nri-audit/audit"
)

// Decode fills e from one `journalctl -o json` line. e is reset first.
func Decode(line []byte, e *audit.Entry) error {
	e.Reset()
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("journalctl: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return errors.New("journalctl: entry is not a JSON object")
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("journalctl: %w", err)
		}
		name, ok := tok.(string)
		if !ok {
			return errors.New("journalctl: expected a field name")
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return fmt.Errorf("journalctl: field %s: %w", name, err)
		}
		values, err := fieldValues(raw)
		if err != nil {
			return fmt.Errorf("journalctl: field %s: %w", name, err)
		}
		if len(values) == 0 {
			continue // null: the value was not exported
		}
		switch {
		case name == "__CURSOR":
			e.Cursor = values[0]
		case name == "__REALTIME_TIMESTAMP":
			us, err := strconv.ParseInt(values[0], 10, 64)
			if err != nil {
				return fmt.Errorf("journalctl: __REALTIME_TIMESTAMP %q: %w", values[0], err)
			}
			e.Realtime = time.UnixMicro(us).UTC()
		case strings.HasPrefix(name, "__"):
			// Address fields locate the entry; they are not data.
		default:
			f := audit.JournalField{Name: name, Value: values[0]}
			if len(values) > 1 {
				f.More = values[1:]
			}
			e.Fields = append(e.Fields, f)
		}
	}
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("journalctl: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("journalctl: unexpected data after the entry")
	}
	return nil
}

// fieldValues decodes a journalctl field value into its string values.
func fieldValues(raw json.RawMessage) ([]string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil, errors.New("empty value")
	}
	switch raw[0] {
	case 'n':
		return nil, nil
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		return []string{s}, nil
	case '[':
		var elems []json.RawMessage
		if err := json.Unmarshal(raw, &elems); err != nil {
			return nil, err
		}
		if b, ok, err := byteArray(elems); ok || err != nil {
			return []string{b}, err
		}
		out := make([]string, 0, len(elems))
		for _, el := range elems {
			el = bytes.TrimSpace(el)
			switch {
			case len(el) > 0 && el[0] == '"':
				var s string
				if err := json.Unmarshal(el, &s); err != nil {
					return nil, err
				}
				out = append(out, s)
			case len(el) > 0 && el[0] == '[':
				var inner []json.RawMessage
				if err := json.Unmarshal(el, &inner); err != nil {
					return nil, err
				}
				b, ok, err := byteArray(inner)
				if err != nil {
					return nil, err
				}
				if !ok {
					return nil, errors.New("nested array is not a byte array")
				}
				out = append(out, b)
			case len(el) > 0 && el[0] == 'n':
			default:
				return nil, fmt.Errorf("unexpected array element %s", el)
			}
		}
		return out, nil
	default:
		// journalctl writes strings; accept a bare number or bool as its text.
		return []string{string(raw)}, nil
	}
}

// byteArray decodes [n, n, ...] (numbers 0..255) into a string. ok is false
// when the elements are not all numbers.
func byteArray(elems []json.RawMessage) (string, bool, error) {
	if len(elems) == 0 {
		return "", false, nil
	}
	b := make([]byte, 0, len(elems))
	for _, el := range elems {
		el = bytes.TrimSpace(el)
		if len(el) == 0 || (el[0] < '0' || el[0] > '9') {
			return "", false, nil
		}
		n, err := strconv.ParseUint(string(el), 10, 8)
		if err != nil {
			return "", true, fmt.Errorf("byte array element %s: %w", el, err)
		}
		b = append(b, byte(n))
	}
	return string(b), true, nil
}
