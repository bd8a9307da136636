//go:build !cgo || !linux

package journald

import "context"

// Reader is the journal reader; in this build it cannot be opened.
type Reader struct{}

// Open returns ErrUnsupported: this build has no cgo.
func Open(ctx context.Context, cfg Config) (*Reader, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return nil, ErrUnsupported
}

// Batches returns a closed channel.
func (r *Reader) Batches() <-chan Batch {
	ch := make(chan Batch)
	close(ch)
	return ch
}

// Err returns ErrUnsupported.
func (r *Reader) Err() error { return ErrUnsupported }

// Stats returns zero counters.
func (r *Reader) Stats() Stats { return Stats{} }

// Bounds returns zero bounds.
func (r *Reader) Bounds() Bounds { return Bounds{} }

// Close does nothing.
func (r *Reader) Close() error { return nil }
