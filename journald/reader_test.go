//go:build cgo && linux

package journald

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nri-audit/nri-audit/audit"
	"github.com/nri-audit/nri-audit/internal/journalgen"
	"github.com/nri-audit/nri-audit/journalctl"
)

var t0 = time.Date(2026, 2, 9, 16, 44, 32, 0, time.UTC)

func TestReadDefaultMatches(t *testing.T) {
	path, st := makeJournal(t, journalgen.Options{Entries: 3000})
	all, r := readAll(t, Config{Files: []string{path}})
	if len(all) != st.Matching || st.Excluded == 0 {
		t.Fatalf("read %d entries, generator made %d matching (%d excluded)", len(all), st.Matching, st.Excluded)
	}
	if got := r.Stats().Entries; got != uint64(len(all)) {
		t.Errorf("Stats.Entries = %d, want %d", got, len(all))
	}
	var prev time.Time
	for i, e := range all {
		id, _ := e.Get("SYSLOG_IDENTIFIER")
		if id != "containerd" && id != "crio" {
			t.Fatalf("entry %d: SYSLOG_IDENTIFIER %q passed the default matches", i, id)
		}
		if e.Cursor == "" || !strings.HasPrefix(e.Cursor, "s=") {
			t.Fatalf("entry %d: cursor %q", i, e.Cursor)
		}
		if e.Realtime.Before(prev) {
			t.Fatalf("entry %d: realtime %v before %v", i, e.Realtime, prev)
		}
		prev = e.Realtime
		for _, f := range e.Fields {
			if strings.HasPrefix(f.Name, "__") {
				t.Fatalf("entry %d: address field %s copied", i, f.Name)
			}
		}
		if _, ok := e.Get("MESSAGE"); !ok {
			t.Fatalf("entry %d: no MESSAGE", i)
		}
	}
	b := r.Bounds()
	if !b.Head.Equal(all[0].Realtime) || !b.Tail.Equal(all[len(all)-1].Realtime) {
		t.Errorf("bounds %v, want %v .. %v", b, all[0].Realtime, all[len(all)-1].Realtime)
	}
}

// The reader must see exactly what journalctl sees: same fields in the same
// order, same cursor and time, so documents and their ids are identical to
// those of `journalctl -o json | nri-audit parse --input journal-json`.
func TestSameAsJournalctl(t *testing.T) {
	if _, err := exec.LookPath("journalctl"); err != nil {
		t.Skip("journalctl not installed")
	}
	path, _ := makeJournal(t, journalgen.Options{Entries: 1500})
	long := strings.Repeat("x", 100<<10)
	extra := filepath.Join(t.TempDir(), "extra.journal")
	// journalctl -o json always shows _BOOT_ID (from the entry header), so
	// these entries carry one, as journald's do.
	boot := "41681935b56e4d14a0aa7c37b76e8663"
	makeJournalFrom(t, extra,
		entry(t0, "_BOOT_ID", boot, "SYSLOG_IDENTIFIER", "crio", "MESSAGE", "line one\nline two", "TAG", "a", "TAG", "b", "OTHER", "x", "TAG", "c"),
		entry(t0.Add(time.Second), "_BOOT_ID", boot, "SYSLOG_IDENTIFIER", "containerd", "MESSAGE", `time="2026-02-09T16:44:33Z" level=info msg="`+long+`"`),
		entry(t0.Add(2*time.Second), "_BOOT_ID", boot, "SYSLOG_IDENTIFIER", "containerd", "MESSAGE", "bin\x00ary \xff bytes"),
	)
	for _, files := range [][]string{{path}, {extra}} {
		got, _ := readAll(t, Config{Files: files})
		args := []string{"--all", "-o", "json", "--no-pager"}
		for _, f := range files {
			args = append(args, "--file="+f)
		}
		args = append(args, "SYSLOG_IDENTIFIER=containerd", "SYSLOG_IDENTIFIER=crio", "SYSLOG_IDENTIFIER=nri-audit")
		out, err := exec.Command("journalctl", args...).Output()
		if err != nil {
			t.Fatalf("journalctl: %v", err)
		}
		var want []audit.Entry
		sc := bufio.NewScanner(bytes.NewReader(out))
		sc.Buffer(nil, 16<<20)
		for sc.Scan() {
			var e audit.Entry
			if err := journalctl.Decode(sc.Bytes(), &e); err != nil {
				t.Fatal(err)
			}
			want = append(want, e)
		}
		if len(got) != len(want) {
			t.Fatalf("reader: %d entries, journalctl: %d", len(got), len(want))
		}
		for i := range got {
			g, w := got[i], want[i]
			if g.Cursor != w.Cursor || !g.Realtime.Equal(w.Realtime) {
				t.Fatalf("entry %d: cursor/time %q %v, journalctl %q %v", i, g.Cursor, g.Realtime, w.Cursor, w.Realtime)
			}
			// journalctl writes JSON fields in hash order: compare as sets.
			byName := func(a, b audit.JournalField) int { return strings.Compare(a.Name, b.Name) }
			gs, ws := slices.SortedFunc(slices.Values(g.Fields), byName), slices.SortedFunc(slices.Values(w.Fields), byName)
			if !slices.EqualFunc(gs, ws, func(a, b audit.JournalField) bool {
				return a.Name == b.Name && a.Value == b.Value && slices.Equal(a.More, b.More)
			}) {
				t.Fatalf("entry %d fields differ:\nreader     %q\njournalctl %q", i, g.Fields, w.Fields)
			}
		}
	}
}

func TestLongRepeatedAndBinaryFields(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.journal")
	long := strings.Repeat("0123456789", 30<<10) // 300 KiB, over the 64 KiB default threshold
	makeJournalFrom(t, path,
		entry(t0, "SYSLOG_IDENTIFIER", "containerd", "MESSAGE", long),
		entry(t0.Add(time.Millisecond), "SYSLOG_IDENTIFIER", "crio", "MESSAGE", "panic: boom\n\ngoroutine 1 [running]:\nmain.main()", "TAG", "a", "OTHER", "x", "TAG", "b", "TAG", "c"),
		entry(t0.Add(2*time.Millisecond), "SYSLOG_IDENTIFIER", "containerd", "MESSAGE", "nul\x00and\xffbyte"),
	)
	all, _ := readAll(t, Config{Files: []string{path}})
	if len(all) != 3 {
		t.Fatalf("%d entries", len(all))
	}
	if m, _ := all[0].Get("MESSAGE"); m != long {
		t.Errorf("long MESSAGE cut: %d bytes of %d", len(m), len(long))
	}
	if m, _ := all[1].Get("MESSAGE"); !strings.HasPrefix(m, "panic: boom\n\ngoroutine 1") {
		t.Errorf("multi-line MESSAGE = %q", m)
	}
	var tag *audit.JournalField
	for i := range all[1].Fields {
		if all[1].Fields[i].Name == "TAG" {
			if tag != nil {
				t.Fatal("TAG appears twice in Fields")
			}
			tag = &all[1].Fields[i]
		}
	}
	if tag == nil || tag.Value != "a" || !slices.Equal(tag.More, []string{"b", "c"}) {
		t.Errorf("repeated TAG = %+v, want a + [b c]", tag)
	}
	if m, _ := all[2].Get("MESSAGE"); m != "nul\x00and\xffbyte" {
		t.Errorf("binary MESSAGE = %q", m)
	}

	// A cap cuts fields, when asked for.
	capped, _ := readAll(t, Config{Files: []string{path}, MaxFieldSize: 1000})
	if m, _ := capped[0].Get("MESSAGE"); m != long[:1000] {
		t.Errorf("MaxFieldSize 1000: MESSAGE of %d bytes", len(m))
	}
}

func TestMatchesAndUnits(t *testing.T) {
	path, st := makeJournal(t, journalgen.Options{Entries: 2000})
	count := func(cfg Config) map[string]int {
		cfg.Files = []string{path}
		all, _ := readAll(t, cfg)
		m := map[string]int{}
		for _, e := range all {
			id, _ := e.Get("SYSLOG_IDENTIFIER")
			m[id]++
		}
		return m
	}
	all := count(Config{Matches: []string{MatchAll}})
	if all["kubelet"] != st.Excluded || all["containerd"]+all["crio"] != st.Matching {
		t.Fatalf("match *: %v, generator: %+v", all, st)
	}
	if got := count(Config{Units: []string{"kubelet"}}); len(got) != 1 || got["kubelet"] != st.Excluded {
		t.Errorf("unit kubelet: %v", got)
	}
	got := count(Config{Matches: []string{"SYSLOG_IDENTIFIER=crio"}, Units: []string{"kubelet.service"}})
	if len(got) != 2 || got["crio"] != all["crio"] || got["kubelet"] != all["kubelet"] {
		t.Errorf("crio OR kubelet: %v, want crio %d kubelet %d", got, all["crio"], all["kubelet"])
	}
	for _, bad := range []Config{
		{Matches: []string{"lower=case"}},
		{Matches: []string{"NOEQUALS"}},
		{Matches: []string{"*"}, Units: []string{"x"}},
		{Units: []string{"a=b"}},
		{Directory: "/tmp", Files: []string{path}},
		{Start: FromCursor},
		{Start: FromCursor, Cursor: "garbage"},
		{Start: FromSince},
	} {
		bad.Files = append(bad.Files, path)
		if _, err := Open(context.Background(), bad); err == nil {
			t.Errorf("Open(%+v) accepted", bad)
		}
	}
}

func TestStartPositions(t *testing.T) {
	path, _ := makeJournal(t, journalgen.Options{Entries: 1000})
	all, _ := readAll(t, Config{Files: []string{path}})

	// After a cursor: exactly the entries that follow it.
	k := 417
	rest, _ := readAll(t, Config{Files: []string{path}, Start: FromCursor, Cursor: all[k].Cursor})
	if len(rest) != len(all)-k-1 || rest[0].Cursor != all[k+1].Cursor {
		t.Fatalf("after cursor %d: %d entries starting %q, want %d starting %q", k, len(rest), rest[0].Cursor, len(all)-k-1, all[k+1].Cursor)
	}
	// After the last entry: nothing.
	if none, _ := readAll(t, Config{Files: []string{path}, Start: FromCursor, Cursor: all[len(all)-1].Cursor}); len(none) != 0 {
		t.Errorf("after the last cursor: %d entries", len(none))
	}
	// Since a time: from the first entry at or after it.
	since, _ := readAll(t, Config{Files: []string{path}, Start: FromSince, Since: all[k].Realtime})
	if len(since) != len(all)-k || since[0].Cursor != all[k].Cursor {
		t.Errorf("since %v: %d entries, want %d", all[k].Realtime, len(since), len(all)-k)
	}
	// Tail without follow: nothing.
	if tail, _ := readAll(t, Config{Files: []string{path}, Start: FromTail}); len(tail) != 0 {
		t.Errorf("tail: %d entries", len(tail))
	}
}

// A cursor whose entry was vacuumed (here: the journal was replaced by one
// holding only later entries) resumes at the cursor's time, not at the head.
func TestVacuumedCursor(t *testing.T) {
	dir := t.TempDir()
	var entries []journalgen.Entry
	for i := range 20 {
		entries = append(entries, entry(t0.Add(time.Duration(i)*time.Second), "SYSLOG_IDENTIFIER", "containerd", "MESSAGE", "line "+string(rune('a'+i))))
	}
	old := filepath.Join(dir, "old.journal")
	makeJournalFrom(t, old, entries...)
	first, _ := readAll(t, Config{Files: []string{old}})
	cursor := first[9].Cursor // "line j", t0+9s

	// The new journal starts at entry 5: 5..9 were shipped already, 9's own
	// record is gone with the old file.
	newer := filepath.Join(dir, "new.journal")
	makeJournalFrom(t, newer, entries[5:]...)
	var logs bytes.Buffer
	got, _ := readAll(t, Config{Files: []string{newer}, Start: FromCursor, Cursor: cursor, Logger: testLogger(&logs)})
	var msgs []string
	for _, e := range got {
		m, _ := e.Get("MESSAGE")
		msgs = append(msgs, m)
	}
	// At or after t0+9s: "line j" again (re-sent; same document id) and the rest.
	if len(msgs) != 11 || msgs[0] != "line j" || msgs[1] != "line k" {
		t.Fatalf("resumed with %q", msgs)
	}
	if !strings.Contains(logs.String(), "saved cursor is gone") {
		t.Errorf("no warning logged: %q", logs.String())
	}
}

func TestFollowAppend(t *testing.T) {
	for _, mode := range []string{"directory", "file"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "system.journal")
			makeJournalFrom(t, path, entry(t0, "SYSLOG_IDENTIFIER", "containerd", "MESSAGE", "before"))
			cfg := Config{Follow: true, WaitTimeout: 100 * time.Millisecond}
			if mode == "directory" {
				cfg.Directory = dir
			} else {
				cfg.Files = []string{path}
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			r, err := Open(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if got := collect(t, r, 1, 10*time.Second); len(got) != 1 {
				t.Fatalf("before: %d", len(got))
			}
			var more []journalgen.Entry
			for i := range 50 {
				more = append(more, entry(t0.Add(time.Duration(i+1)*time.Second), "SYSLOG_IDENTIFIER", "crio", "MESSAGE", "after"))
			}
			if _, err := journalgen.Append(context.Background(), path, journalgen.Entries(more...)); err != nil {
				t.Fatal(err)
			}
			got := collect(t, r, 50, 15*time.Second)
			if len(got) != 50 {
				t.Fatalf("after: %d entries", len(got))
			}
			// Cancelling the context ends the batches promptly.
			cancel()
			select {
			case _, ok := <-r.Batches():
				for ok {
					_, ok = <-r.Batches()
				}
			case <-time.After(5 * time.Second):
				t.Fatal("batches not closed after cancel")
			}
		})
	}
}

func TestCloseIsPrompt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.journal")
	makeJournalFrom(t, path, entry(t0, "SYSLOG_IDENTIFIER", "containerd", "MESSAGE", "x"))
	r, err := Open(context.Background(), Config{Files: []string{path}, Follow: true, WaitTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	collect(t, r, 1, 5*time.Second)
	time.Sleep(300 * time.Millisecond) // now inside Wait
	start := time.Now()
	r.Close()
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %v", d)
	}
	if err := r.Err(); err != nil {
		t.Errorf("Err after Close = %v", err)
	}
}

// Rotation while following: journald renames the active file to an archive
// name, starts a new one, and later deletes archives. Every entry arrives
// once, and the descriptors of deleted files are closed.
func TestFollowRotation(t *testing.T) {
	dir := t.TempDir()
	active := filepath.Join(dir, "system.journal")
	seq := 0
	next := func(n int) []journalgen.Entry {
		var out []journalgen.Entry
		for range n {
			out = append(out, entry(t0.Add(time.Duration(seq)*time.Millisecond), "SYSLOG_IDENTIFIER", "containerd", "MESSAGE", "n="+itoa(seq)))
			seq++
		}
		return out
	}
	makeJournalFrom(t, active, next(100)...)
	r, err := Open(context.Background(), Config{Directory: dir, Follow: true, WaitTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got := collect(t, r, 100, 10*time.Second)
	var archives []string
	for round := range 5 {
		// Rotate: archive the active file, write the next one elsewhere and
		// move it in (journald creates it in place; the effect for a
		// reader is the same: a new file appears).
		archive := filepath.Join(dir, "system@"+itoa(round)+".journal")
		if err := os.Rename(active, archive); err != nil {
			t.Fatal(err)
		}
		archives = append(archives, archive)
		staged := filepath.Join(t.TempDir(), "system.journal")
		makeJournalFrom(t, staged, next(100)...)
		if err := os.Rename(staged, active); err != nil {
			t.Fatal(err)
		}
		got = append(got, collect(t, r, 100, 10*time.Second)...)
		// Vacuum the oldest archive.
		if round >= 1 {
			if err := os.Remove(archives[0]); err != nil {
				t.Fatal(err)
			}
			archives = archives[1:]
		}
	}
	seen := map[string]bool{}
	for _, e := range got {
		m, _ := e.Get("MESSAGE")
		if seen[m] {
			t.Fatalf("%s read twice", m)
		}
		seen[m] = true
	}
	if len(seen) != seq {
		t.Fatalf("read %d distinct entries, wrote %d", len(seen), seq)
	}
	// Give the reader a wait cycle to process the last deletion.
	deadline := time.Now().Add(5 * time.Second)
	for {
		deleted := deletedJournalFDs(t)
		if len(deleted) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("descriptors of deleted journal files still open: %v", deleted)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if r.Stats().Invalidations == 0 {
		t.Error("no SD_JOURNAL_INVALIDATE seen")
	}
}

func deletedJournalFDs(t *testing.T) []string {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip(err)
	}
	var out []string
	for _, e := range ents {
		target, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err == nil && strings.Contains(target, ".journal") && strings.HasSuffix(target, "(deleted)") {
			out = append(out, "fd "+target)
		}
	}
	// A mapping keeps a deleted file's space as much as a descriptor does.
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Skip(err)
	}
	for _, line := range strings.Split(string(maps), "\n") {
		if strings.Contains(line, ".journal") && strings.HasSuffix(line, "(deleted)") {
			out = append(out, "map "+line)
		}
	}
	return out
}

func itoa(i int) string { return strconvItoa(i) }

// From the tail in follow mode: only entries written after the start.
func TestFollowFromTail(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "system.journal")
	makeJournalFrom(t, path,
		entry(t0, "SYSLOG_IDENTIFIER", "containerd", "MESSAGE", "old 1"),
		entry(t0.Add(time.Second), "SYSLOG_IDENTIFIER", "containerd", "MESSAGE", "old 2"))
	r, err := Open(context.Background(), Config{Directory: dir, Start: FromTail, Follow: true, WaitTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := journalgen.Append(context.Background(), path, journalgen.Entries(
		entry(t0.Add(2*time.Second), "SYSLOG_IDENTIFIER", "crio", "MESSAGE", "new 1"),
		entry(t0.Add(3*time.Second), "SYSLOG_IDENTIFIER", "crio", "MESSAGE", "new 2"))); err != nil {
		t.Fatal(err)
	}
	got := collect(t, r, 2, 10*time.Second)
	for i, e := range got {
		if m, _ := e.Get("MESSAGE"); m != "new "+itoa(i+1) {
			t.Fatalf("entry %d: %q", i, m)
		}
	}
	select {
	case b := <-r.Batches():
		t.Fatalf("unexpected entries %v", b.Entries)
	case <-time.After(300 * time.Millisecond):
	}
}

// The local journal opens (this machine may have none: then it is empty).
func TestLocalJournal(t *testing.T) {
	r, err := Open(context.Background(), Config{Matches: []string{MatchAll}, BatchSize: 10})
	if err != nil {
		if strings.Contains(err.Error(), "not readable") {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	n := 0
	for b := range r.Batches() {
		n += len(b.Entries)
		if n >= 100 {
			break
		}
	}
	r.Close()
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d entries from the local journal", n)
}
