package audit

// appendPlainFields writes the leading run of fields that need no more
// than a backslash before a quote or backslash (String kind, PlainKey,
// ASCII value without control bytes) as `,"key":"value"` after dst's
// length, within its capacity, and returns the new length and the number
// of fields written. The caller guarantees cap(dst)-len(dst) >=
// sum(fieldBudget). It is most of a document's encoding: one call
// per run instead of a check and five appends per field. Implemented in
// fields_amd64.s; appendPlainFieldsGo is the portable form the tests hold
// it to.
//
//go:noescape
func appendPlainFields(dst []byte, fields []Field) (n, done int)
