package journald

import (
	"errors"
	"sync/atomic"
	"time"

	"github.com/nri-audit/nri-audit/audit"
)

// ErrUnsupported is returned by Open in a build without cgo.
var ErrUnsupported = errors.New("journald: this build has no journal reader (it needs cgo on Linux and libsystemd-dev at build time); " +
	"rebuild with CGO_ENABLED=1, or pipe `journalctl -o json` into `nri-audit parse --input journal-json`")

// Batch is a run of consecutive matching entries. Entries are the caller's
// to keep; their strings share one allocation per batch.
type Batch struct {
	Entries []audit.Entry
}

// Cursor returns the cursor of the batch's last entry.
func (b *Batch) Cursor() string {
	if len(b.Entries) == 0 {
		return ""
	}
	return b.Entries[len(b.Entries)-1].Cursor
}

// Stats are a reader's counters, safe to read while it runs.
type Stats struct {
	// Entries and Bytes read (data bytes of the fields, cursor excluded).
	Entries, Bytes uint64
	// Batches handed out.
	Batches uint64
	// Invalidations counts SD_JOURNAL_INVALIDATE: journal files added or
	// removed (rotation, vacuuming) while following.
	Invalidations uint64
	// FieldErrors counts fields that could not be read (corrupt data
	// objects); their entries are still delivered with the other fields.
	FieldErrors uint64
	// Last is the receive time of the last entry read.
	Last time.Time
}

type counters struct {
	entries, bytes, batches, invalidations, fieldErrors atomic.Uint64
	lastUsec                                            atomic.Int64
}

func (c *counters) snapshot() Stats {
	s := Stats{
		Entries:       c.entries.Load(),
		Bytes:         c.bytes.Load(),
		Batches:       c.batches.Load(),
		Invalidations: c.invalidations.Load(),
		FieldErrors:   c.fieldErrors.Load(),
	}
	if us := c.lastUsec.Load(); us > 0 {
		s.Last = time.UnixMicro(us).UTC()
	}
	return s
}

// Bounds are the receive times of the first and last matching entries when
// the reader opened the journal (zero when it had none): a backfill's
// progress is Stats.Last between them.
type Bounds struct {
	Head, Tail time.Time
}
