//go:build cgo && linux

package journald

import (
	"os"
	"testing"
)

var sharedTemp string

func benchTempDir() (string, error) {
	if sharedTemp != "" {
		return sharedTemp, nil
	}
	d, err := os.MkdirTemp("", "journald-bench-")
	sharedTemp = d
	return d, err
}

func TestMain(m *testing.M) {
	code := m.Run()
	if sharedTemp != "" {
		os.RemoveAll(sharedTemp)
	}
	os.Exit(code)
}
