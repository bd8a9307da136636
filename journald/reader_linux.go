//go:build cgo && linux

package journald

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/sdjournal"

	"github.com/nri-audit/nri-audit/audit"
)

// Reader reads journal entries on its own OS-thread-locked goroutine and
// hands them out as batches. Its methods are safe for concurrent use.
type Reader struct {
	cfg   Config
	terms []string
	log   *slog.Logger

	out      chan Batch
	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}
	err      error // written before out is closed

	ctr    counters
	bounds Bounds

	// Damaged files (damage_linux.go); used by the reader goroutine only.
	padDir    string            // padded copies of truncated files
	original  map[string]string // padded copy → the file it stands for
	problems  []error
	fds       fdTracker
	lastBySeq map[string]string // seqnum id → last cursor delivered
	recovered map[string]bool

	// getEntry forces the sdjournal.GetEntry path (benchmarks, tests).
	getEntry bool
}

// batchReader is the hot path: nativeReader, or entryReader as fallback.
type batchReader interface {
	read(max, maxField int, ctr *counters) ([]audit.Entry, bool, error)
	process() int
	close()
}

// Open opens the journal as cfg says and starts reading. The journal is
// opened, positioned and read on the reader's goroutine; Open returns once
// it is positioned, with the error when it could not be. Reading stops at
// the end of the journal (unless cfg.Follow), on Close, or when ctx ends.
func Open(ctx context.Context, cfg Config) (*Reader, error) {
	return open(ctx, cfg, false)
}

func open(ctx context.Context, cfg Config, getEntry bool) (*Reader, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	terms, _ := cfg.matchTerms()
	if cfg.BatchSize == 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.WaitTimeout == 0 {
		cfg.WaitTimeout = DefaultWaitTimeout
	}
	r := &Reader{
		cfg:      cfg,
		terms:    terms,
		log:      cfg.Logger,
		out:      make(chan Batch, 1),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
		getEntry: getEntry,

		original:  map[string]string{},
		lastBySeq: map[string]string{},
		recovered: map[string]bool{},
	}
	if r.log == nil {
		r.log = slog.Default()
	}
	if err := r.checkAccess(); err != nil {
		return nil, err
	}
	if len(cfg.Files) > 0 {
		files, err := r.padTruncated(cfg.Files)
		if err != nil {
			r.cleanup()
			return nil, err
		}
		r.cfg.Files = files
	}
	ready := make(chan error, 1)
	go r.run(ctx, ready)
	if err := <-ready; err != nil {
		<-r.done
		return nil, err
	}
	return r, nil
}

// Batches delivers the entries in journal order. It is closed when reading
// stops; Err then tells why.
func (r *Reader) Batches() <-chan Batch { return r.out }

// Err returns the error that stopped reading, or nil when it reached the
// end of the journal, was closed or its context ended. It waits until the
// reader has stopped: call it once Batches is closed, or after Close.
func (r *Reader) Err() error {
	<-r.done
	return r.err
}

// Stats returns the reader's counters.
func (r *Reader) Stats() Stats { return r.ctr.snapshot() }

// Bounds returns the first and last matching entries' times at open.
func (r *Reader) Bounds() Bounds { return r.bounds }

// Close stops reading and closes the journal; it returns once the handle is
// closed (within Config.WaitTimeout when following).
func (r *Reader) Close() error {
	r.stopOnce.Do(func() { close(r.stop) })
	<-r.done
	return nil
}

func (r *Reader) stopped(ctx context.Context) bool {
	select {
	case <-r.stop:
		return true
	case <-ctx.Done():
		return true
	default:
		return false
	}
}

// run is the only goroutine that touches the sd_journal handle.
func (r *Reader) run(ctx context.Context, ready chan<- error) {
	defer close(r.done)
	defer close(r.out)
	defer r.cleanup()
	// sd_journal_open(3): a handle belongs to the thread that opened it.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	r.fds.start()
	j, err := r.openJournal()
	if err != nil {
		ready <- err
		return
	}
	defer j.Close()
	// Before the first read: libsystemd may drop a damaged file at once.
	r.fds.opened()
	var br batchReader
	if !r.getEntry {
		nr, err := newNativeReader(j)
		if err != nil {
			r.log.Warn("journald: falling back to sdjournal.GetEntry (slower; field order and repeated fields are not kept)", "reason", err)
		} else {
			br = nr
		}
	}
	if br == nil {
		br = &entryReader{j: j}
	}
	defer br.close()
	if err := r.position(j); err != nil {
		ready <- err
		return
	}
	ready <- nil
	err = r.loop(ctx, j, br)
	if err == nil && len(r.problems) > 0 && !r.cfg.Follow {
		err = fmt.Errorf("journald: damaged journal: %w", errors.Join(r.problems...))
	}
	r.err = err
}

func (r *Reader) cleanup() {
	if r.padDir != "" {
		os.RemoveAll(r.padDir)
		r.padDir = ""
	}
}

// deliver hands entries out; false when the reader was stopped.
func (r *Reader) deliver(ctx context.Context, entries []audit.Entry) bool {
	r.ctr.entries.Add(uint64(len(entries)))
	r.ctr.batches.Add(1)
	r.ctr.lastUsec.Store(entries[len(entries)-1].Realtime.UnixMicro())
	r.noteCursors(entries)
	select {
	case r.out <- Batch{Entries: entries}:
		return true
	case <-r.stop:
		return false
	case <-ctx.Done():
		return false
	}
}

func (r *Reader) openJournal() (*sdjournal.Journal, error) {
	var (
		j   *sdjournal.Journal
		err error
	)
	switch {
	case r.cfg.Directory != "":
		j, err = sdjournal.NewJournalFromDir(r.cfg.Directory)
	case len(r.cfg.Files) > 0:
		j, err = sdjournal.NewJournalFromFiles(r.cfg.Files...)
	default:
		j, err = sdjournal.NewJournal()
	}
	if err != nil {
		return nil, fmt.Errorf("journald: open %s: %w", r.source(), err)
	}
	if err := r.setup(j); err != nil {
		j.Close()
		return nil, err
	}
	return j, nil
}

func (r *Reader) setup(j *sdjournal.Journal) error {
	if err := j.SetDataThreshold(uint64(r.cfg.MaxFieldSize)); err != nil {
		return fmt.Errorf("journald: %w", err)
	}
	for i, t := range r.terms {
		if i > 0 {
			if err := j.AddDisjunction(); err != nil {
				return fmt.Errorf("journald: %w", err)
			}
		}
		if err := j.AddMatch(t); err != nil {
			return fmt.Errorf("journald: match %q: %w", t, err)
		}
	}
	return nil
}

func (r *Reader) source() string {
	switch {
	case r.cfg.Directory != "":
		return "directory " + r.cfg.Directory
	case len(r.cfg.Files) > 0:
		return "files " + strings.Join(r.cfg.Files, ", ")
	}
	return "the local journal"
}

// position records the bounds and seeks to the start position.
func (r *Reader) position(j *sdjournal.Journal) error {
	if err := j.SeekHead(); err != nil {
		return fmt.Errorf("journald: %w", err)
	}
	if n, err := j.Next(); err == nil && n > 0 {
		if us, err := j.GetRealtimeUsec(); err == nil {
			r.bounds.Head = time.UnixMicro(int64(us)).UTC()
		}
	}
	if err := j.SeekTail(); err != nil {
		return fmt.Errorf("journald: %w", err)
	}
	if n, err := j.Previous(); err == nil && n > 0 {
		if us, err := j.GetRealtimeUsec(); err == nil {
			r.bounds.Tail = time.UnixMicro(int64(us)).UTC()
		}
	}

	switch r.cfg.Start {
	case FromHead:
		return wrap(j.SeekHead())
	case FromTail:
		if err := j.SeekTail(); err != nil {
			return wrap(err)
		}
		// Step onto the last entry: the next read returns what follows it.
		_, err := j.Previous()
		return wrap(err)
	case FromSince:
		return wrap(j.SeekRealtimeUsec(uint64(r.cfg.Since.UnixMicro())))
	case FromCursor:
		return r.seekCursor(j)
	}
	return nil
}

// seekCursor positions on the saved entry, so reading resumes after it.
// When the entry is gone, reading resumes at its time instead.
func (r *Reader) seekCursor(j *sdjournal.Journal) error {
	c := r.cfg.Cursor
	if err := j.SeekCursor(c); err != nil {
		return fmt.Errorf("journald: cursor %q: %w", c, err)
	}
	n, err := j.Next()
	if err != nil {
		return wrap(err)
	}
	if n > 0 && j.TestCursor(c) == nil {
		return nil // on the saved entry: the next read starts after it
	}
	t, err := CursorRealtime(c)
	if err != nil {
		return err
	}
	r.log.Warn("journald: the entry of the saved cursor is gone (vacuumed, rotated away, or another journal); "+
		"resuming at the first entry received at or after its time",
		"cursor", c, "time", t.Format(time.RFC3339Nano))
	return wrap(j.SeekRealtimeUsec(uint64(t.UnixMicro())))
}

func wrap(err error) error {
	if err != nil {
		return fmt.Errorf("journald: %w", err)
	}
	return nil
}

// processInterval is how often a long backfill in follow mode lets
// libsystemd handle file events (rotation, deletion), which closes the
// descriptors of deleted files.
const processInterval = time.Second

func (r *Reader) loop(ctx context.Context, j *sdjournal.Journal, br batchReader) error {
	lastProcess := time.Now()
	for {
		if r.stopped(ctx) {
			return nil
		}
		entries, eof, err := br.read(r.cfg.BatchSize, r.cfg.MaxFieldSize, &r.ctr)
		if len(entries) > 0 && !r.deliver(ctx, entries) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("journald: reading %s after %d entries: %w", r.source(), r.ctr.entries.Load(), err)
		}
		if !eof {
			if r.cfg.Follow && time.Since(lastProcess) > processInterval {
				if rc := br.process(); rc == sdjournal.SD_JOURNAL_INVALIDATE {
					r.ctr.invalidations.Add(1)
				}
				lastProcess = time.Now()
			}
			continue
		}
		if !r.checkDamage(ctx) {
			return nil
		}
		if !r.cfg.Follow {
			return nil
		}
		// Bounded waits: Close and ctx are noticed within WaitTimeout. A
		// read follows every wait, even a timeout, so a missed
		// notification costs at most one WaitTimeout.
		switch rc := j.Wait(r.cfg.WaitTimeout); {
		case rc == sdjournal.SD_JOURNAL_INVALIDATE:
			r.ctr.invalidations.Add(1)
		case rc < 0:
			return fmt.Errorf("journald: wait: %w", syscall.Errno(-rc))
		}
		lastProcess = time.Now()
	}
}

// checkAccess turns "no readable journal file" into a clear error:
// libsystemd skips files it may not read and would just return nothing.
func (r *Reader) checkAccess() error {
	var dirs []string
	switch {
	case len(r.cfg.Files) > 0:
		for _, f := range r.cfg.Files {
			fh, err := os.Open(f)
			if err != nil {
				return fmt.Errorf("journald: %w%s", err, permissionHint(err))
			}
			fh.Close()
		}
		return nil
	case r.cfg.Directory != "":
		st, err := os.Stat(r.cfg.Directory)
		if err != nil {
			return fmt.Errorf("journald: %w", err)
		}
		if !st.IsDir() {
			return fmt.Errorf("journald: %s is not a directory (use files for a journal file)", r.cfg.Directory)
		}
		dirs = []string{r.cfg.Directory}
	default:
		dirs = []string{"/var/log/journal", "/run/log/journal"}
	}
	readable, denied := 0, 0
	var firstDenied string
	for _, d := range dirs {
		_ = filepath.WalkDir(d, func(p string, de fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrPermission) {
					denied++
					if firstDenied == "" {
						firstDenied = p
					}
				}
				return nil
			}
			if de.IsDir() || !strings.HasSuffix(p, ".journal") && !strings.HasSuffix(p, ".journal~") {
				return nil
			}
			fh, err := os.Open(p)
			if err != nil {
				denied++
				if firstDenied == "" {
					firstDenied = p
				}
				return nil
			}
			fh.Close()
			readable++
			if h, err := readHeader(p); err == nil {
				if st, err := os.Stat(p); err == nil && uint64(st.Size()) < h.size {
					r.problem(fmt.Errorf("journal file %s is truncated (%d of %d bytes) and libsystemd skips it; "+
						"read it with files (--file %s) to get the entries before the cut", p, st.Size(), h.size, p))
				}
			} else if !strings.HasSuffix(p, "~") {
				r.problem(fmt.Errorf("%v; libsystemd skips it", err))
			}
			return nil
		})
	}
	if denied > 0 {
		msg := fmt.Sprintf("journald: %d journal files or directories are not readable, e.g. %s", denied, firstDenied)
		if readable == 0 {
			return errors.New(msg + permissionHint(fs.ErrPermission))
		}
		r.log.Warn(msg+"; their entries are skipped", "hint", strings.TrimPrefix(permissionHint(fs.ErrPermission), ": "))
	}
	return nil
}

func permissionHint(err error) string {
	if errors.Is(err, fs.ErrPermission) {
		return ": run as root, or add the user to the systemd-journal (or adm) group"
	}
	return ""
}
