package parser

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nri-audit/nri-audit/audit"
	"github.com/nri-audit/nri-audit/internal/journalgen"
	"github.com/nri-audit/nri-audit/journalctl"
)

var updateIDs = flag.Bool("update-ids", false, "rewrite testdata/ids.txt")

// referenceID is the document id algorithm as first shipped (v1), kept
// verbatim so that every optimisation of Builder.setID is checked against
// it: ids are what make a re-sent document a 409 instead of a duplicate, so
// they must never change.
func referenceID(e *audit.Entry, messageKey string) [audit.IDSize]byte {
	const identityCount = 7
	identityIndex := func(name string) int {
		switch name {
		case "_MACHINE_ID":
			return 0
		case "_BOOT_ID":
			return 1
		case "_HOSTNAME":
			return 2
		case "_PID":
			return 3
		case "SYSLOG_IDENTIFIER":
			return 4
		case "_SYSTEMD_UNIT":
			return 5
		case "_STREAM_ID":
			return 6
		}
		return -1
	}
	var at [identityCount + 1]int
	for i := range at {
		at[i] = -1
	}
	for i := range e.Fields {
		name := e.Fields[i].Name
		if name == messageKey {
			if at[identityCount] < 0 {
				at[identityCount] = i
			}
			continue
		}
		if k := identityIndex(name); k >= 0 && at[k] < 0 {
			at[k] = i
		}
	}
	h := append([]byte(nil), "nri-audit/v1\x00"...)
	h = binary.BigEndian.AppendUint64(h, uint64(e.Realtime.UnixNano()))
	h = append(h, e.Cursor...)
	h = append(h, 0)
	for k, i := range at {
		if i < 0 {
			h = append(h, byte(k), 0xff)
			continue
		}
		f := &e.Fields[i]
		h = append(h, byte(k))
		h = binary.BigEndian.AppendUint32(h, uint32(len(f.Value)))
		h = append(h, f.Value...)
		for _, v := range f.More {
			h = binary.BigEndian.AppendUint32(h, uint32(len(v)))
			h = append(h, v...)
		}
	}
	sum := sha256.Sum256(h)
	var id [audit.IDSize]byte
	copy(id[:], sum[:audit.IDSize])
	return id
}

// idEntries returns the entries the id tests cover: every golden input, a
// generated journal in several seeds, and hand-made edge cases (identity
// fields missing, empty, repeated, duplicated, in odd orders; a cursor).
func idEntries(t *testing.T) []*audit.Entry {
	t.Helper()
	var out []*audit.Entry
	files, _ := filepath.Glob("testdata/*.jsonl")
	more, _ := filepath.Glob("../cmd/nri-audit/testdata/*.jsonl")
	for _, name := range append(files, more...) {
		fh, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			e := new(audit.Entry)
			if err := journalctl.Decode(sc.Bytes(), e); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			out = append(out, e)
		}
		fh.Close()
	}
	for seed := range uint64(3) {
		g := journalgen.New(journalgen.Options{Entries: 400, Seed: seed})
		var je journalgen.Entry
		for g.Next(&je) {
			e := &audit.Entry{Realtime: je.Realtime.UTC()}
			for _, f := range je.Fields {
				if audit.IsAddressField(f.Name) {
					continue
				}
				found := false
				for i := range e.Fields {
					if e.Fields[i].Name == f.Name {
						e.Fields[i].More = append(e.Fields[i].More, f.Value)
						found = true
						break
					}
				}
				if !found {
					e.Add(f.Name, f.Value)
				}
			}
			out = append(out, e)
		}
	}
	rt := time.Unix(1770655472, 546012000)
	mk := func(cursor string, kv ...string) *audit.Entry {
		e := &audit.Entry{Realtime: rt, Cursor: cursor}
		for i := 0; i+1 < len(kv); i += 2 {
			e.Add(kv[i], kv[i+1])
		}
		return e
	}
	msg := `level=info msg="add mount" nri.plugin=10-a value.destination=/x`
	out = append(out,
		mk(""),
		mk("", "MESSAGE", ""),
		mk("", "MESSAGE", msg),
		mk("s=1;i=2;b=3", "MESSAGE", msg),
		mk("", "_HOSTNAME", "", "MESSAGE", msg),
		mk("", "_PID", "1", "_PID", "2", "MESSAGE", msg, "MESSAGE", "second"),
		mk("", "MESSAGE", msg, "_STREAM_ID", "s", "_SYSTEMD_UNIT", "u", "SYSLOG_IDENTIFIER", "i",
			"_PID", "p", "_HOSTNAME", "h", "_BOOT_ID", "b", "_MACHINE_ID", "m"),
		mk("", "_MACHINE_ID", "m", "_BOOT_ID", "b", "_HOSTNAME", "h", "_PID", "p",
			"SYSLOG_IDENTIFIER", "i", "_SYSTEMD_UNIT", "u", "_STREAM_ID", "s", "MESSAGE", msg),
		mk("", "_MACHINE_IDX", "m", "_BOOT_I", "b", "nri_x", "y", "MESSAGE", "not logfmt"),
		mk("", "_HOSTNAME", "a\xffb", "MESSAGE", "k=\xfe"),
	)
	rep := mk("", "_HOSTNAME", "h", "MESSAGE", msg)
	rep.Fields[0].More = []string{"h2", ""}
	rep.Fields[1].More = []string{"m2"}
	out = append(out, rep, &audit.Entry{Fields: []audit.JournalField{{Name: "MESSAGE", Value: msg}}})
	return out
}

// TestIDStable checks every document id against referenceID, for the
// default options and for those that change what the builder looks at
// (field selection, another message key, a mode that drops lines), and
// against testdata/ids.txt: per option set, the number of documents and a
// digest of every id and every whole document as the v1 code produced them
// for the same entries, so an optimisation of the builder cannot change a
// byte of its output unnoticed.
func TestIDStable(t *testing.T) {
	entries := idEntries(t)
	variants := []Options{
		{},
		{KeepFields: []string{"MESSAGE", "_HOSTNAME"}},
		{DropFields: []string{"_*", "MESSAGE"}},
		{MessageKey: "_HOSTNAME"},
		{Prefix: "x_"},
		{Mode: ModeNRI},
		{MessageKey: "SYSLOG_IDENTIFIER"},
		{MessageKey: "_SYSTEMD_UNIT", KeepFields: []string{"_S*", "SYSLOG_*", "PRIORITY"}, DropFields: []string{"_SYSTEMD_SLICE"}},
		{Mode: ModeAudit, Prefix: "_"},
	}
	var got strings.Builder
	for vi, opts := range variants {
		opts.Now = func() time.Time { return time.Unix(1770655000, 0) }
		b, err := New(opts)
		if err != nil {
			t.Fatal(err)
		}
		key := opts.MessageKey
		if key == "" {
			key = "MESSAGE"
		}
		var r audit.Record
		digest := sha256.New()
		docs := 0
		for i, e := range entries {
			if !b.Build(e, &r) {
				fmt.Fprintf(digest, "%d -\n", i)
				continue
			}
			if want := referenceID(e, key); r.ID != want {
				t.Fatalf("variant %d entry %d: id %x, want %x", vi, i, r.ID, want)
			}
			docs++
			fmt.Fprintf(digest, "%d %x %s\n", i, r.ID, r.AppendJSON(nil))
		}
		fmt.Fprintf(&got, "%d %d %x\n", vi, docs, digest.Sum(nil))
	}
	const golden = "testdata/ids.txt"
	if *updateIDs {
		if err := os.WriteFile(golden, []byte(got.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got.String() != string(want) {
		t.Fatalf("documents differ from the v1 ones (variant, documents, digest):\ngot:\n%swant:\n%s", got.String(), want)
	}
}

// FuzzID: whatever the field names, values, repeats and order, the id is
// the v1 id.
func FuzzID(f *testing.F) {
	f.Add("MESSAGE", "level=info msg=x", "_HOSTNAME", "h", "_PID", "1", "c", int64(1770655472546012000), uint8(0))
	f.Add("_PID", "1", "_PID", "2", "MESSAGE", "", "", int64(0), uint8(7))
	f.Add("_STREAM_ID", "", "SYSLOG_IDENTIFIER", "containerd", "_SYSTEMD_UNIT", "crio.service", "", int64(-1), uint8(3))
	b, err := New(Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, n1, v1, n2, v2, n3, v3, cursor string, ns int64, rep uint8) {
		e := &audit.Entry{Realtime: time.Unix(0, ns), Cursor: cursor}
		e.Add(n1, v1)
		e.Add(n2, v2)
		e.Add(n3, v3)
		e.Add("MESSAGE", v1+" "+v3)
		for i := range e.Fields {
			if rep&(1<<i) != 0 {
				e.Fields[i].More = []string{v2, v3}
			}
		}
		var r audit.Record
		if b.Build(e, &r) && r.ID != referenceID(e, "MESSAGE") {
			t.Fatalf("id %x, want %x", r.ID, referenceID(e, "MESSAGE"))
		}
	})
}

// TestNameInfo: the plain flag of nameInfo is audit.IsPlainKey, for names
// of every length up to 40 made of bytes next to the special ones.
func TestNameInfo(t *testing.T) {
	alphabet := []byte{'A', '_', '"', '\\', 0x00, 0x1f, 0x20, 0x21, 0x5b, 0x5d, 0x7e, 0x7f, 0x80, 0xc3, 0xa9, 0xff}
	rnd := uint64(5)
	buf := make([]byte, 0, 40)
	for range 300000 {
		buf = buf[:0]
		rnd = rnd*6364136223846793005 + 1442695040888963407
		size := int(rnd>>58) % 41
		clean := rnd>>57&1 == 0 // half the names mostly clean
		for range size {
			rnd = rnd*6364136223846793005 + 1442695040888963407
			c := alphabet[int(rnd>>40)%len(alphabet)]
			if clean && rnd>>20%16 != 0 {
				c = 'A' + byte(rnd>>30%26)
			}
			buf = append(buf, c)
		}
		name := string(buf)
		if _, plain := nameInfo(name); plain != audit.IsPlainKey(name) {
			t.Fatalf("%q: plain %v, IsPlainKey %v", name, plain, audit.IsPlainKey(name))
		}
	}
}

// TestParseTimeMatchesDate compares ParseTime's day arithmetic with
// time.Date over every month of years 0 to 10000 and zone offsets that
// cross the year and range boundaries.
func TestParseTimeMatchesDate(t *testing.T) {
	ref := func(year, month, day, hour, min, sec, nsec, offset int) (time.Time, bool) {
		tt := time.Date(year, time.Month(month), day, hour, min, sec, nsec, time.UTC).Add(-time.Duration(offset) * time.Second)
		if y := tt.Year(); y < 1 || y > 9999 {
			return time.Time{}, false
		}
		return tt, true
	}
	rnd := uint64(11)
	next := func(n int) int {
		rnd = rnd*6364136223846793005 + 1442695040888963407
		return int(rnd>>33) % n
	}
	for year := 0; year <= 9999; year++ {
		for month := 1; month <= 12; month++ {
			if year%7 != 0 && month != 1 && month != 2 && month != 12 && year > 2 && year < 9997 {
				continue // every month of some years, the boundary months of all
			}
			for _, day := range []int{1, daysIn(month, year), 1 + next(daysIn(month, year))} {
				hour, min, sec, nsec := next(24), next(60), next(60), next(1e9)
				oh, om := next(24), next(60)
				sign := "+"
				offset := oh*3600 + om*60
				if next(2) == 0 {
					sign, offset = "-", -offset
				}
				s := fmt.Sprintf("%04d-%02d-%02dT%02d:%02d:%02d.%09d%s%02d:%02d", year, month, day, hour, min, sec, nsec, sign, oh, om)
				got, ok := ParseTime(s)
				want, wok := ref(year, month, day, hour, min, sec, nsec, offset)
				if ok != wok || got != want {
					t.Fatalf("%s: got %v %v, want %v %v", s, got, ok, want, wok)
				}
			}
		}
	}
	for _, s := range []string{"0001-01-01T00:00:00Z", "0000-12-31T23:59:59Z", "0001-01-01T00:30:00+01:00",
		"9999-12-31T23:59:59.999999999Z", "9999-12-31T23:59:59-00:01", "0000-01-01T00:00:00Z", "0000-02-29T12:00:00-23:59"} {
		got, ok := ParseTime(s)
		std, err := time.Parse(time.RFC3339Nano, s)
		wok := err == nil && std.UTC().Year() >= 1 && std.UTC().Year() <= 9999
		if ok != wok || ok && got != std.UTC() {
			t.Fatalf("%s: got %v %v, time.Parse %v %v", s, got, ok, std.UTC(), err)
		}
	}
}
