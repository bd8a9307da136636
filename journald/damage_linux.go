//go:build cgo && linux

package journald

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/coreos/go-systemd/v22/sdjournal"

	"github.com/nri-audit/nri-audit/audit"
)

// Damaged journal files. libsystemd refuses a truncated file outright
// (ENODATA), and when iterating a file fails (a corrupt object) it drops
// the file from the handle with only a debug message: the reader would end
// early and silently. The reader therefore
//
//   - checks each file's header: a truncated file given as a file is read
//     from a copy padded back to its recorded size (the cut-off part reads
//     as zeros), a truncated file in a directory is reported;
//   - notices files that libsystemd dropped (their descriptor is closed
//     while the file is still there), reports them, and reads the rest of
//     such a file again on its own, without sd_journal matches (which walk
//     per-value entry arrays, often the broken part) and filtering in Go,
//     from after the last entry it had delivered from it.
//
// Problems are logged when found and returned by Err at the end (not in
// follow mode, where reading goes on).

// journalHeader is the part of a journal file header the checks need.
type journalHeader struct {
	size     uint64 // header_size + arena_size: the file's recorded size
	seqnumID string // hex, as in the s= part of cursors
}

func readHeader(path string) (journalHeader, error) {
	f, err := os.Open(path)
	if err != nil {
		return journalHeader{}, err
	}
	defer f.Close()
	var b [104]byte
	if _, err := io.ReadFull(f, b[:]); err != nil {
		return journalHeader{}, fmt.Errorf("journal file %s: header: %w", path, err)
	}
	if string(b[:8]) != "LPKSHHRH" {
		return journalHeader{}, fmt.Errorf("journal file %s: not a journal file (bad signature)", path)
	}
	return journalHeader{
		size:     binary.LittleEndian.Uint64(b[88:]) + binary.LittleEndian.Uint64(b[96:]),
		seqnumID: hex.EncodeToString(b[72:88]),
	}, nil
}

// padTruncated returns the files to open: each truncated file is replaced by
// a copy in dir padded (sparse) to its recorded size.
func (r *Reader) padTruncated(files []string) ([]string, error) {
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = f
		h, err := readHeader(f)
		if err != nil {
			return nil, fmt.Errorf("journald: %w", err)
		}
		st, err := os.Stat(f)
		if err != nil {
			return nil, fmt.Errorf("journald: %w", err)
		}
		if uint64(st.Size()) >= h.size {
			continue
		}
		if r.padDir == "" {
			if r.padDir, err = os.MkdirTemp("", "nri-audit-journal-"); err != nil {
				return nil, fmt.Errorf("journald: %w", err)
			}
		}
		cp := filepath.Join(r.padDir, strconv.Itoa(i)+"-"+filepath.Base(f))
		if !strings.HasSuffix(cp, ".journal") {
			cp += ".journal"
		}
		if err := copyPadded(f, cp, int64(h.size)); err != nil {
			return nil, fmt.Errorf("journald: truncated journal file %s: %w", f, err)
		}
		r.original[cp] = f
		r.problem(fmt.Errorf("journal file %s is truncated (%d of %d bytes): reading the entries before the cut",
			f, st.Size(), h.size))
		out[i] = cp
	}
	return out, nil
}

func copyPadded(src, dst string, size int64) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Truncate(size); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// problem records and logs a damaged-journal finding.
func (r *Reader) problem(err error) {
	r.log.Error("journald: " + err.Error())
	r.problems = append(r.problems, err)
}

func (r *Reader) name(path string) string {
	if o, ok := r.original[path]; ok {
		return o
	}
	return path
}

// fileKey identifies an open journal file.
type fileKey struct {
	path     string
	dev, ino uint64
}

// journalFDs lists this process's open journal files by descriptor.
func journalFDs() map[int]fileKey {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return nil
	}
	out := map[int]fileKey{}
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		link := "/proc/self/fd/" + e.Name()
		target, err := os.Readlink(link)
		if err != nil || !strings.Contains(target, ".journal") || strings.HasSuffix(target, " (deleted)") {
			continue
		}
		var st syscall.Stat_t
		if syscall.Stat(link, &st) != nil {
			continue
		}
		out[fd] = fileKey{path: target, dev: uint64(st.Dev), ino: st.Ino}
	}
	return out
}

// fdTracker tells which journal files the handle closed although they are
// still on disk under the same name: files libsystemd gave up on.
type fdTracker struct {
	baseline map[int]fileKey // open before the handle: not ours
	ours     map[int]fileKey
}

func (t *fdTracker) start() { t.baseline = journalFDs() }

func (t *fdTracker) opened() { t.ours = t.mine(journalFDs()) }

func (t *fdTracker) mine(cur map[int]fileKey) map[int]fileKey {
	out := map[int]fileKey{}
	for fd, k := range cur {
		if b, ok := t.baseline[fd]; ok && b == k {
			continue
		}
		out[fd] = k
	}
	return out
}

// dropped returns the files closed since the last call that still exist.
func (t *fdTracker) dropped() []string {
	if t.ours == nil {
		return nil
	}
	cur := journalFDs()
	if cur == nil {
		return nil
	}
	var out []string
	open := map[fileKey]bool{}
	for _, k := range cur {
		open[k] = true
	}
	for fd, k := range t.ours {
		if c, ok := cur[fd]; ok && c == k || open[k] {
			continue
		}
		var st syscall.Stat_t
		if syscall.Stat(k.path, &st) == nil && uint64(st.Dev) == k.dev && st.Ino == k.ino {
			out = append(out, k.path)
		}
	}
	t.ours = t.mine(cur)
	return out
}

// seqnumOf returns the seqnum id of a cursor ("s=<id>;...").
func seqnumOf(cursor string) string {
	if !strings.HasPrefix(cursor, "s=") {
		return ""
	}
	id, _, _ := strings.Cut(cursor[2:], ";")
	return id
}

// noteCursors remembers, per seqnum id, the last cursor delivered: where a
// re-read of a dropped file resumes.
func (r *Reader) noteCursors(entries []audit.Entry) {
	for i := range entries {
		s := seqnumOf(entries[i].Cursor)
		if s == "" || i+1 < len(entries) && seqnumOf(entries[i+1].Cursor) == s {
			continue
		}
		r.lastBySeq[s] = entries[i].Cursor
	}
}

// checkDamage reports files libsystemd dropped and re-reads them. It
// returns false when the reader was stopped meanwhile.
func (r *Reader) checkDamage(ctx context.Context) bool {
	for _, path := range r.fds.dropped() {
		if r.recovered[path] {
			continue
		}
		r.recovered[path] = true
		n, stopped, err := r.reread(ctx, path)
		msg := fmt.Sprintf("journal file %s is corrupt: libsystemd stopped reading it; %d more entries were read from it without matches", r.name(path), n)
		if err != nil {
			msg += ", then: " + err.Error()
		}
		r.problem(errors.New(msg + " (journalctl --verify --file=" + r.name(path) + " shows the damage)"))
		if stopped {
			return false
		}
	}
	return true
}

// reread reads the entries of one file after the last one delivered from
// it, with a handle of its own and the matches applied in Go.
func (r *Reader) reread(ctx context.Context, path string) (n int, stopped bool, err error) {
	h, err := readHeader(path)
	if err != nil {
		return 0, false, err
	}
	j, err := sdjournal.NewJournalFromFiles(path)
	if err != nil {
		return 0, false, err
	}
	defer j.Close()
	if err := j.SetDataThreshold(uint64(r.cfg.MaxFieldSize)); err != nil {
		return 0, false, err
	}
	var br batchReader = &entryReader{j: j}
	if nr, err := newNativeReader(j); err == nil && !r.getEntry {
		br = nr
	}
	defer br.close()
	if err := r.positionAfter(j, r.lastBySeq[h.seqnumID]); err != nil {
		return 0, false, err
	}
	for {
		entries, eof, rerr := br.read(r.cfg.BatchSize, r.cfg.MaxFieldSize, &r.ctr)
		kept := entries[:0]
		for _, e := range entries {
			if matchesTerms(&e, r.terms) {
				kept = append(kept, e)
			}
		}
		if len(kept) > 0 {
			n += len(kept)
			if !r.deliver(ctx, kept) {
				return n, true, nil
			}
		}
		if rerr != nil {
			return n, false, rerr
		}
		if eof {
			return n, false, nil
		}
	}
}

// positionAfter seeks just after the entry of cursor (the head when empty).
func (r *Reader) positionAfter(j *sdjournal.Journal, cursor string) error {
	if cursor == "" {
		return j.SeekHead()
	}
	if err := j.SeekCursor(cursor); err != nil {
		return err
	}
	k, err := j.Next()
	if err != nil || k == 0 {
		return err
	}
	if j.TestCursor(cursor) == nil {
		return nil // on the delivered entry: continue after it
	}
	// Landed on the first later entry: step back so it is read.
	_, err = j.Previous()
	return err
}

// matchesTerms applies the OR of FIELD=value terms to an entry (nil: all).
func matchesTerms(e *audit.Entry, terms []string) bool {
	if len(terms) == 0 {
		return true
	}
	for _, t := range terms {
		name, value, _ := strings.Cut(t, "=")
		for i := range e.Fields {
			f := &e.Fields[i]
			if f.Name != name {
				continue
			}
			if f.Value == value {
				return true
			}
			for _, v := range f.More {
				if v == value {
					return true
				}
			}
		}
	}
	return false
}
