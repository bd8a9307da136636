//go:build cgo && linux

package journald

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct sd_journal sd_journal;

// One entry of a batch: its cursor is buf[ends[first-1]:ends[first]] (from 0
// for the first entry), its fields follow, one "NAME=value" each.
typedef struct {
	uint64_t realtime;
	uint32_t first;
	uint32_t nfields;
	int32_t  field_err;
} nra_entry;

typedef struct {
	void *lib;
	int  (*next)(sd_journal *);
	int  (*get_realtime_usec)(sd_journal *, uint64_t *);
	int  (*get_cursor)(sd_journal *, char **);
	void (*restart_data)(sd_journal *);
	int  (*enumerate_data)(sd_journal *, const void **, size_t *);
	int  (*process)(sd_journal *);

	char      *buf;  size_t len, cap;
	uint32_t  *ends; size_t nends, capends;
	nra_entry *ents; size_t nents, capents;
} nra_reader;

// The same library names sdjournal tries (systemd >= 209 first); dlopen of
// an already loaded library only takes a reference.
static const char *nra_libs[] = {"libsystemd.so.0", "libsystemd.so", "libsystemd-journal.so.0", NULL};

static nra_reader *nra_new(void) {
	nra_reader *r = calloc(1, sizeof(*r));
	if (!r) return NULL;
	for (int i = 0; nra_libs[i] && !r->lib; i++) r->lib = dlopen(nra_libs[i], RTLD_LAZY);
	if (!r->lib) { free(r); return NULL; }
	r->next              = dlsym(r->lib, "sd_journal_next");
	r->get_realtime_usec = dlsym(r->lib, "sd_journal_get_realtime_usec");
	r->get_cursor        = dlsym(r->lib, "sd_journal_get_cursor");
	r->restart_data      = dlsym(r->lib, "sd_journal_restart_data");
	r->enumerate_data    = dlsym(r->lib, "sd_journal_enumerate_data");
	r->process           = dlsym(r->lib, "sd_journal_process");
	if (!r->next || !r->get_realtime_usec || !r->get_cursor || !r->restart_data ||
	    !r->enumerate_data || !r->process) {
		dlclose(r->lib);
		free(r);
		return NULL;
	}
	return r;
}

static void nra_trim(nra_reader *r, size_t keep) {
	if (r->cap > keep) { free(r->buf); r->buf = NULL; r->cap = 0; }
	r->len = 0;
}

static void nra_free(nra_reader *r) {
	free(r->buf);
	free(r->ends);
	free(r->ents);
	dlclose(r->lib);
	free(r);
}

static int nra_grow(void **p, size_t *cap, size_t need, size_t elem) {
	if (need <= *cap) return 0;
	size_t n = *cap ? *cap : 256;
	while (n < need) n *= 2;
	void *q = realloc(*p, n * elem);
	if (!q) return -ENOMEM;
	*p = q;
	*cap = n;
	return 0;
}

static int nra_put(nra_reader *r, const void *d, size_t l) {
	if (r->len + l > INT32_MAX) return -E2BIG;
	int e = nra_grow((void **)&r->buf, &r->cap, r->len + l, 1);
	if (e) return e;
	memcpy(r->buf + r->len, d, l);
	r->len += l;
	e = nra_grow((void **)&r->ends, &r->capends, r->nends + 1, sizeof(uint32_t));
	if (e) return e;
	r->ends[r->nends++] = (uint32_t)r->len;
	return 0;
}

// nra_read reads up to max entries after the current position into r.
// It returns 1 when it stopped at max, 0 at the end of the journal, or a
// negative errno; r->nents entries are complete in every case.
static int nra_read(nra_reader *r, sd_journal *j, int max, size_t byte_budget) {
	r->len = r->nends = r->nents = 0;
	while ((int)r->nents < max && r->len < byte_budget) {
		int k = r->next(j);
		if (k < 0) return k;
		if (k == 0) return 0;
		int e = nra_grow((void **)&r->ents, &r->capents, r->nents + 1, sizeof(nra_entry));
		if (e) return e;
		nra_entry *en = &r->ents[r->nents];
		en->first = (uint32_t)r->nends;
		en->nfields = 0;
		en->field_err = 0;
		en->realtime = 0;
		k = r->get_realtime_usec(j, &en->realtime);
		if (k < 0) return k;
		char *c = NULL;
		k = r->get_cursor(j, &c);
		if (k < 0) return k;
		e = nra_put(r, c, strlen(c));
		free(c);
		if (e) return e;
		const void *d;
		size_t l;
		r->restart_data(j);
		for (;;) {
			k = r->enumerate_data(j, &d, &l);
			if (k == 0) break;
			if (k < 0) {
				// The iterator does not move past a broken object: keep
				// the fields read so far and report it.
				en->field_err = k;
				break;
			}
			e = nra_put(r, d, l);
			if (e) return e;
			en->nfields++;
		}
		r->nents++;
	}
	return 1;
}

static int nra_process(nra_reader *r, sd_journal *j) { return r->process(j); }
*/
import "C"

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"github.com/coreos/go-systemd/v22/sdjournal"

	"github.com/nri-audit/nri-audit/audit"
)

// batchBytes bounds the data of one batch read, so a run of huge entries
// does not make one giant allocation.
const batchBytes = 8 << 20

// handleOf returns the sd_journal pointer inside an sdjournal.Journal. The
// type does not export it; its layout (cjournal first) is checked here so a
// different go-systemd version falls back to GetEntry instead of crashing.
func handleOf(j *sdjournal.Journal) (*C.sd_journal, error) {
	t := reflect.TypeOf((*sdjournal.Journal)(nil)).Elem()
	if t.NumField() == 0 {
		return nil, errors.New("journald: unexpected sdjournal.Journal layout")
	}
	f := t.Field(0)
	if f.Name != "cjournal" || f.Offset != 0 || f.Type.Kind() != reflect.Pointer ||
		!strings.Contains(f.Type.Elem().Name(), "sd_journal") {
		return nil, fmt.Errorf("journald: unexpected sdjournal.Journal layout (first field %s %s)", f.Name, f.Type)
	}
	p := *(*unsafe.Pointer)(unsafe.Pointer(j))
	if p == nil {
		return nil, errors.New("journald: sdjournal.Journal has no handle")
	}
	return (*C.sd_journal)(p), nil
}

// nativeReader reads entries with sd_journal_enumerate_data, one cgo call per
// batch. Only the goroutine that owns the journal may use it.
type nativeReader struct {
	c *C.nra_reader
	j *C.sd_journal
}

func newNativeReader(j *sdjournal.Journal) (*nativeReader, error) {
	h, err := handleOf(j)
	if err != nil {
		return nil, err
	}
	c := C.nra_new()
	if c == nil {
		return nil, errors.New("journald: cannot load the sd_journal functions from libsystemd")
	}
	return &nativeReader{c: c, j: h}, nil
}

func (n *nativeReader) close() {
	if n.c != nil {
		C.nra_free(n.c)
		n.c = nil
	}
}

func (n *nativeReader) process() int { return int(C.nra_process(n.c, n.j)) }

// read returns up to max entries, whether the end of the journal was
// reached, and the sd_journal error that stopped it (after the entries
// read before it).
func (n *nativeReader) read(max, maxField int, ctr *counters) ([]audit.Entry, bool, error) {
	rc := int(C.nra_read(n.c, n.j, C.int(max), C.size_t(batchBytes)))
	defer C.nra_trim(n.c, C.size_t(4*batchBytes))
	var err error
	if rc < 0 {
		err = syscall.Errno(-rc)
	}
	cnt := int(n.c.nents)
	if cnt == 0 {
		return nil, rc == 0, err
	}
	data := C.GoStringN(n.c.buf, C.int(n.c.len))
	ends := unsafe.Slice((*uint32)(unsafe.Pointer(n.c.ends)), int(n.c.nends))
	ents := unsafe.Slice(n.c.ents, cnt)
	total := 0
	for i := range ents {
		total += int(ents[i].nfields)
	}
	fields := make([]audit.JournalField, 0, total)
	entries := make([]audit.Entry, cnt)
	for i := range ents {
		en := &ents[i]
		first := int(en.first)
		start := uint32(0)
		if first > 0 {
			start = ends[first-1]
		}
		e := &entries[i]
		e.Cursor = data[start:ends[first]]
		e.Realtime = time.UnixMicro(int64(en.realtime)).UTC()
		prev := ends[first]
		base := len(fields)
		var seen uint64
		for f := 0; f < int(en.nfields); f++ {
			end := ends[first+1+f]
			item := data[prev:end]
			prev = end
			if maxField > 0 && len(item) > maxField {
				item = cutField(item, maxField)
			}
			fields = appendField(fields, base, &seen, item, ctr)
		}
		e.Fields = fields[base:len(fields):len(fields)]
		if en.field_err != 0 {
			ctr.fieldErrors.Add(1)
		}
	}
	ctr.bytes.Add(uint64(len(data)))
	return entries, rc == 0, err
}

// appendField adds one "NAME=value" data item to the fields of the entry
// that starts at base: a repeated name adds to the first one's More;
// address fields and items without '=' are skipped. seen is a per-entry
// bitmap of name hashes, so the search for a repeat runs only on a hash
// hit (repeats are rare; the search is what costs).
func appendField(fields []audit.JournalField, base int, seen *uint64, item string, ctr *counters) []audit.JournalField {
	eq := strings.IndexByte(item, '=')
	if eq <= 0 {
		ctr.fieldErrors.Add(1)
		return fields
	}
	name, value := item[:eq], item[eq+1:]
	if name[0] == '_' && len(name) > 1 && name[1] == '_' {
		return fields
	}
	bit := uint64(1) << ((uint(len(name))*7 + uint(name[len(name)-1]) + uint(name[len(name)/2])*3) & 63)
	if *seen&bit == 0 {
		*seen |= bit
		return append(fields, audit.JournalField{Name: name, Value: value})
	}
	for k := base; k < len(fields); k++ {
		if len(fields[k].Name) == len(name) && fields[k].Name == name {
			fields[k].More = append(fields[k].More, value)
			return fields
		}
	}
	return append(fields, audit.JournalField{Name: name, Value: value})
}

// cutField cuts the value of a "NAME=value" item to max bytes; libsystemd
// treats the data threshold as a hint and returns uncompressed objects
// whole.
func cutField(item string, max int) string {
	eq := strings.IndexByte(item, '=')
	if eq < 0 || len(item)-eq-1 <= max {
		return item
	}
	return item[:eq+1+max]
}

// entryReader reads with sdjournal.GetEntry: the fallback when the handle
// cannot be reached, and the baseline of the benchmark. GetEntry returns a
// map, so fields come sorted by name and a repeated field keeps one value.
type entryReader struct {
	j *sdjournal.Journal
}

func (g *entryReader) close()       {}
func (g *entryReader) process() int { return 0 }

func (g *entryReader) read(max, maxField int, ctr *counters) ([]audit.Entry, bool, error) {
	var entries []audit.Entry
	for len(entries) < max {
		k, err := g.j.Next()
		if err != nil {
			return entries, false, err
		}
		if k == 0 {
			return entries, true, nil
		}
		je, err := g.j.GetEntry()
		if err != nil {
			return entries, false, err
		}
		e := audit.Entry{Cursor: je.Cursor, Realtime: time.UnixMicro(int64(je.RealtimeTimestamp)).UTC()}
		names := make([]string, 0, len(je.Fields))
		for name := range je.Fields {
			if !strings.HasPrefix(name, "__") {
				names = append(names, name)
			}
		}
		slices.Sort(names)
		for _, name := range names {
			v := je.Fields[name]
			if maxField > 0 && len(v) > maxField {
				v = v[:maxField]
			}
			e.Add(name, v)
			ctr.bytes.Add(uint64(len(name) + 1 + len(je.Fields[name])))
		}
		entries = append(entries, e)
	}
	return entries, false, nil
}
