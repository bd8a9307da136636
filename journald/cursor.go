package journald

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// CursorStore keeps one journal cursor in a file. The file holds the cursor
// alone, as journalctl --cursor-file writes it, so either tool can resume
// from it. Save replaces it atomically: a crash leaves the old cursor or
// the new one, never a mix.
type CursorStore struct {
	path string

	mu   sync.Mutex
	last string
}

// NewCursorStore returns a store for the file at path.
func NewCursorStore(path string) *CursorStore { return &CursorStore{path: path} }

// Path returns the file's path.
func (s *CursorStore) Path() string { return s.path }

// maxCursorFile bounds what Load reads; real cursors are ~120 bytes.
const maxCursorFile = 4096

// Load returns the saved cursor, or "" when there is none yet.
func (s *CursorStore) Load() (string, error) {
	b, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("journald: cursor file: %w", err)
	}
	if len(b) > maxCursorFile {
		return "", fmt.Errorf("journald: cursor file %s is %d bytes, not a cursor; remove it to start over", s.path, len(b))
	}
	c := strings.TrimSpace(string(b))
	if c == "" {
		return "", nil
	}
	if _, err := CursorRealtime(c); err != nil {
		return "", fmt.Errorf("journald: cursor file %s is corrupt (%v); remove it to start over", s.path, err)
	}
	s.mu.Lock()
	s.last = c
	s.mu.Unlock()
	return c, nil
}

// Save stores cursor: write a temporary file in the same directory, fsync
// it, rename it over the old one, fsync the directory. Saving the cursor
// already stored does nothing.
func (s *CursorStore) Save(cursor string) error {
	if _, err := CursorRealtime(cursor); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cursor == s.last {
		return nil
	}
	dir := filepath.Dir(s.path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(s.path)+".tmp*")
	if err != nil {
		return fmt.Errorf("journald: save cursor: %w", err)
	}
	tmpName := tmp.Name()
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmpName)
		}
	}()
	if _, err := tmp.WriteString(cursor); err != nil {
		return fmt.Errorf("journald: save cursor: %w", err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("journald: save cursor: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("journald: save cursor: fsync: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("journald: save cursor: %w", err)
	}
	if err := os.Rename(tmpName, s.path); err != nil {
		return fmt.Errorf("journald: save cursor: %w", err)
	}
	ok = true
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("journald: save cursor: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("journald: save cursor: fsync %s: %w", dir, err)
	}
	s.last = cursor
	return nil
}
