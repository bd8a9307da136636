package audit

// fieldBudget is the most appendPlainFields writes for f.
func fieldBudget(f *Field) int { return len(f.Key) + len(f.Str) + len(`,"":""`) }

// appendPlainFieldsGo is appendPlainFields in portable Go. It appends
// within dst's capacity (the caller's guarantee), so the bytes land where
// the caller's slice can see them.
func appendPlainFieldsGo(dst []byte, fields []Field) (n, done int) {
	for i := range fields {
		f := &fields[i]
		if f.Kind != String || !f.PlainKey || cleanPrefix(f.Str) != len(f.Str) {
			return len(dst), i
		}
		dst = append(dst, ',', '"')
		dst = append(dst, f.Key...)
		dst = append(dst, '"', ':', '"')
		dst = append(dst, f.Str...)
		dst = append(dst, '"')
	}
	return len(dst), len(fields)
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
