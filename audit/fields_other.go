//go:build !amd64

package audit

func appendPlainFields(dst []byte, fields []Field) (n, done int) {
	return appendPlainFieldsGo(dst, fields)
}
