package journald

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// Start is where reading begins.
type Start uint8

const (
	// FromHead starts at the oldest entry (the default).
	FromHead Start = iota
	// FromTail starts after the newest entry: only entries appended later
	// are read (with Follow).
	FromTail
	// FromSince starts at the first entry received at or after Config.Since.
	FromSince
	// FromCursor starts after the entry of Config.Cursor. When that entry
	// is gone (vacuumed, or the journal was replaced), reading starts at
	// the first entry received at or after the cursor's time, with a
	// warning.
	FromCursor
)

// ParseStart parses "head", "tail", "since" or "cursor".
func ParseStart(s string) (Start, error) {
	switch strings.ToLower(s) {
	case "", "head":
		return FromHead, nil
	case "tail":
		return FromTail, nil
	case "since":
		return FromSince, nil
	case "cursor":
		return FromCursor, nil
	}
	return 0, fmt.Errorf("journald: start %q: want head, tail, since or cursor", s)
}

func (s Start) String() string {
	switch s {
	case FromTail:
		return "tail"
	case FromSince:
		return "since"
	case FromCursor:
		return "cursor"
	}
	return "head"
}

// DefaultMatches select the runtimes' entries and nri-audit's own.
var defaultMatches = []string{
	"SYSLOG_IDENTIFIER=containerd",
	"SYSLOG_IDENTIFIER=crio",
	"SYSLOG_IDENTIFIER=nri-audit",
}

// DefaultMatches returns the matches used when Config has none.
func DefaultMatches() []string { return append([]string(nil), defaultMatches...) }

// MatchAll, as the only match, disables filtering.
const MatchAll = "*"

// Defaults of Config.
const (
	DefaultBatchSize   = 512
	DefaultWaitTimeout = 250 * time.Millisecond
)

// Config says what to read.
type Config struct {
	// Directory is a journal directory (e.g. /var/log/journal or a copy);
	// Files are journal files. At most one may be set; with neither, the
	// local journal of this machine is read (system and runtime, as
	// journalctl does).
	Directory string
	Files     []string

	// Matches are FIELD=value terms, ORed: an entry is read when it matches
	// any of them or any of Units. Empty (with no Units) means
	// DefaultMatches; the single term "*" reads every entry.
	Matches []string
	// Units are systemd units (_SYSTEMD_UNIT); ".service" is added to a
	// name without a unit suffix.
	Units []string

	Start  Start
	Since  time.Time // for FromSince
	Cursor string    // for FromCursor

	// Follow keeps reading as entries are appended, until Close or the
	// context ends; otherwise the batches end at the end of the journal.
	Follow bool
	// BatchSize bounds the entries of one Batch; 0 means DefaultBatchSize.
	BatchSize int
	// WaitTimeout bounds one sd_journal_wait in follow mode, hence how long
	// Close may take; 0 means DefaultWaitTimeout.
	WaitTimeout time.Duration
	// MaxFieldSize, when positive, cuts field values to that many bytes
	// (and is passed to libsystemd as the data threshold, a hint that
	// spares decompressing the rest); 0 reads every field whole.
	MaxFieldSize int
	// Logger receives warnings (vacuumed cursor, unreadable fields); nil
	// means slog.Default().
	Logger *slog.Logger
}

// matchTerms returns the sd_journal match terms for c, validated.
func (c *Config) matchTerms() ([]string, error) {
	var terms []string
	if len(c.Matches) == 1 && c.Matches[0] == MatchAll {
		if len(c.Units) > 0 {
			return nil, errors.New(`journald: match "*" reads everything; do not combine it with units`)
		}
		return nil, nil
	}
	for _, m := range c.Matches {
		if err := validMatch(m); err != nil {
			return nil, err
		}
		terms = append(terms, m)
	}
	for _, u := range c.Units {
		if u == "" || strings.ContainsAny(u, "=\n") {
			return nil, fmt.Errorf("journald: unit %q: not a unit name", u)
		}
		terms = append(terms, "_SYSTEMD_UNIT="+UnitName(u))
	}
	if len(terms) == 0 {
		terms = DefaultMatches()
	}
	return terms, nil
}

var unitSuffixes = []string{".service", ".socket", ".scope", ".slice", ".target", ".mount", ".timer", ".path", ".swap", ".device", ".automount"}

// UnitName completes a unit name the way journalctl -u does for the common
// case: "containerd" → "containerd.service".
func UnitName(u string) string {
	for _, s := range unitSuffixes {
		if strings.HasSuffix(u, s) {
			return u
		}
	}
	return u + ".service"
}

// validMatch checks a FIELD=value term: the field name is what journald
// accepts (A–Z, 0–9, _, not starting with a digit).
func validMatch(m string) error {
	name, _, ok := strings.Cut(m, "=")
	if !ok {
		return fmt.Errorf("journald: match %q: want FIELD=value", m)
	}
	if name == "" || len(name) > 64 {
		return fmt.Errorf("journald: match %q: bad field name", m)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'A' && c <= 'Z' || c == '_' || c >= '0' && c <= '9' && i > 0) {
			return fmt.Errorf("journald: match %q: field names are upper-case letters, digits and _", m)
		}
	}
	return nil
}

// Validate checks the configuration without opening anything (Open does
// it too).
func (c *Config) Validate() error { return c.validate() }

func (c *Config) validate() error {
	if c.Directory != "" && len(c.Files) > 0 {
		return errors.New("journald: a directory and files cannot both be given")
	}
	for _, f := range c.Files {
		if f == "" {
			return errors.New("journald: empty file name")
		}
	}
	switch c.Start {
	case FromHead, FromTail:
	case FromSince:
		if c.Since.IsZero() {
			return errors.New("journald: start since needs a time")
		}
	case FromCursor:
		if c.Cursor == "" {
			return errors.New("journald: start cursor needs a cursor")
		}
		if _, err := CursorRealtime(c.Cursor); err != nil {
			return err
		}
	default:
		return fmt.Errorf("journald: unknown start %d", c.Start)
	}
	if c.BatchSize < 0 || c.WaitTimeout < 0 || c.MaxFieldSize < 0 {
		return errors.New("journald: negative batch size, wait timeout or field size")
	}
	_, err := c.matchTerms()
	return err
}

// CursorRealtime returns the receive time recorded in a journal cursor
// (its t= part, microseconds in hex): where reading resumes when the
// cursor's entry no longer exists. A cursor is
// "s=<seqnum id>;i=<seqnum>;b=<boot id>;m=<monotonic>;t=<realtime>;x=<hash>".
func CursorRealtime(cursor string) (time.Time, error) {
	if cursor == "" {
		return time.Time{}, errors.New("journald: empty cursor")
	}
	for _, part := range strings.Split(cursor, ";") {
		k, v, ok := strings.Cut(part, "=")
		if !ok || len(k) != 1 || v == "" {
			return time.Time{}, fmt.Errorf("journald: malformed cursor %q", cursor)
		}
		if k != "t" {
			continue
		}
		us, err := strconv.ParseUint(v, 16, 64)
		if err != nil || us > 1<<62 {
			return time.Time{}, fmt.Errorf("journald: cursor %q: bad realtime %q", cursor, v)
		}
		return time.UnixMicro(int64(us)).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("journald: cursor %q has no realtime (t=) part", cursor)
}
