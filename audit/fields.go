package audit

// fieldBudget is the room appendPlainFields needs for f, a String or
// Strings field: every value byte escaped, plus 16 bytes of slack for the
// assembly's whole-block store of a short string.
func fieldBudget(f *Field) int {
	n := len(f.Key) + len(`,"":`) + 2 + 16
	if f.Kind == Strings {
		for _, s := range f.Strs {
			n += 2*len(s) + len(`"",`)
		}
		return n
	}
	return n + 2*len(f.Str)
}

// appendPlainFieldsGo is appendPlainFields in portable Go: the same
// fields, the same bytes, the same stop before a field that might not fit.
// It appends within dst's capacity, so the bytes land where the caller's
// slice can see them.
func appendPlainFieldsGo(dst []byte, fields []Field) (n, done int) {
	for i := range fields {
		f := &fields[i]
		if !f.PlainKey || (f.Kind != String && f.Kind != Strings) || cap(dst)-len(dst) < fieldBudget(f) {
			return len(dst), i
		}
		start := len(dst)
		dst = append(dst, ',', '"')
		dst = append(dst, f.Key...)
		dst = append(dst, '"', ':')
		ok := true
		if f.Kind == String {
			dst, ok = appendQuotable(dst, f.Str)
		} else {
			dst = append(dst, '[')
			for j, s := range f.Strs {
				if j > 0 {
					dst = append(dst, ',')
				}
				if dst, ok = appendQuotable(dst, s); !ok {
					break
				}
			}
			dst = append(dst, ']')
		}
		if !ok {
			return start, i
		}
	}
	return len(dst), len(fields)
}

// appendQuotable writes s as a JSON string if it is ASCII without control
// bytes, where a backslash before a quote or backslash is all JSON needs.
func appendQuotable(dst []byte, s string) ([]byte, bool) {
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c >= 0x80:
			return dst, false
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"'), true
}

// appendField writes one field of any kind: `,"key":value`.
func appendField(dst []byte, f *Field) []byte {
	if f.PlainKey {
		dst = append(dst, ',', '"')
		dst = append(dst, f.Key...)
		dst = append(dst, '"', ':')
	} else {
		dst = appendKey(dst, f.Key)
	}
	switch f.Kind {
	case String:
		dst = AppendJSONString(dst, f.Str)
	case Strings:
		dst = append(dst, '[')
		for j, s := range f.Strs {
			if j > 0 {
				dst = append(dst, ',')
			}
			dst = AppendJSONString(dst, s)
		}
		dst = append(dst, ']')
	case Bool:
		if f.BoolValue() {
			dst = append(dst, "true"...)
		} else {
			dst = append(dst, "false"...)
		}
	}
	return dst
}
