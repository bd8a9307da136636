package journalgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// remoteCandidates are where Debian, Ubuntu and Fedora install
// systemd-journal-remote; it is not on PATH.
var remoteCandidates = []string{
	"/usr/lib/systemd/systemd-journal-remote",
	"/lib/systemd/systemd-journal-remote",
}

// ErrNoJournalRemote means systemd-journal-remote is not installed.
var ErrNoJournalRemote = errors.New("journalgen: systemd-journal-remote not found (Debian/Ubuntu: apt-get install systemd-journal-remote)")

// RemoteBinary returns the path of systemd-journal-remote: $JOURNAL_REMOTE
// when set, else the distribution locations, else PATH.
func RemoteBinary() (string, error) {
	if p := os.Getenv("JOURNAL_REMOTE"); p != "" {
		return p, nil
	}
	for _, p := range remoteCandidates {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	if p, err := exec.LookPath("systemd-journal-remote"); err == nil {
		return p, nil
	}
	return "", ErrNoJournalRemote
}

// Make writes the entries of src into a new journal file at path (its name
// must end in ".journal"); an existing file is removed first, because
// systemd-journal-remote appends. A large import may make
// systemd-journal-remote rotate: the archived part then sits beside path
// as "<name>@<ids>.journal". Make returns how many entries it wrote.
func Make(ctx context.Context, path string, src Source) (int, error) {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("journalgen: %w", err)
	}
	return Append(ctx, path, src)
}

var finishedRE = regexp.MustCompile(`Finishing after writing (\d+) entries`)

// Append adds the entries of src to the journal file at path (created if
// missing) and returns how many it wrote. It fails when
// systemd-journal-remote fails or stores fewer entries than were sent.
func Append(ctx context.Context, path string, src Source) (int, error) {
	if !strings.HasSuffix(path, ".journal") {
		return 0, fmt.Errorf("journalgen: output %q: the name must end in .journal", path)
	}
	bin, err := RemoteBinary()
	if err != nil {
		return 0, err
	}
	cmd := exec.CommandContext(ctx, bin, "--output="+path, "-")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return 0, fmt.Errorf("journalgen: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("journalgen: start %s: %w", bin, err)
	}
	n, werr := WriteExport(stdin, src)
	cerr := stdin.Close()
	if err := cmd.Wait(); err != nil {
		return n, fmt.Errorf("journalgen: %s: %w: %s", bin, err, strings.TrimSpace(stderr.String()))
	}
	if werr != nil {
		return n, werr
	}
	if cerr != nil {
		return n, fmt.Errorf("journalgen: close pipe: %w", cerr)
	}
	if m := finishedRE.FindSubmatch(stderr.Bytes()); m != nil {
		if stored, _ := strconv.Atoi(string(m[1])); stored != n {
			return n, fmt.Errorf("journalgen: sent %d entries, systemd-journal-remote stored %d: %s",
				n, stored, strings.TrimSpace(stderr.String()))
		}
	}
	return n, nil
}

// MakeFiles writes the entries of src into files journal files in dir, as
// journald leaves them after rotation: archived "<base>@<n>.journal" files
// and the active "<base>.journal" last, perFile entries each (the last one
// takes the rest). It returns the paths, oldest first.
func MakeFiles(ctx context.Context, dir, base string, src Source, files, perFile int) ([]string, error) {
	if files < 1 || perFile < 1 {
		return nil, fmt.Errorf("journalgen: want at least one file and one entry per file")
	}
	var paths []string
	for i := 0; i < files; i++ {
		name := fmt.Sprintf("%s@%016x.journal", base, i+1)
		if i == files-1 {
			name = base + ".journal"
		}
		p := filepath.Join(dir, name)
		limit := perFile
		if i == files-1 {
			limit = -1
		}
		if _, err := Make(ctx, p, &limitSource{src: src, left: limit}); err != nil {
			return paths, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// limitSource yields at most left entries of src (all when left < 0).
type limitSource struct {
	src  Source
	left int
}

func (l *limitSource) Next(e *Entry) bool {
	if l.left == 0 {
		return false
	}
	if l.left > 0 {
		l.left--
	}
	return l.src.Next(e)
}
