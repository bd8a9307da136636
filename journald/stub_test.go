//go:build !cgo || !linux

package journald

import (
	"context"
	"errors"
	"testing"
)

func TestStubUnsupported(t *testing.T) {
	_, err := Open(context.Background(), Config{Files: []string{"x.journal"}})
	if !errors.Is(err, ErrUnsupported) {
		t.Fatalf("Open = %v, want ErrUnsupported", err)
	}
	if _, err := Open(context.Background(), Config{Matches: []string{"bad"}}); err == nil || errors.Is(err, ErrUnsupported) {
		t.Fatalf("bad config: %v", err)
	}
}
