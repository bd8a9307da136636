package parser

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/bits"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/nri-audit/nri-audit/audit"
)

// Mode selects which parsed lines become documents.
type Mode string

// Modes. Lines whose MESSAGE cannot be parsed are shipped in every mode
// (with nri_parse_error): bad input is never dropped.
const (
	// ModeAll ships every line, parsed keys prefixed (the default).
	ModeAll Mode = "all"
	// ModeAudit ships the 45 audit events and NRI error lines only.
	ModeAudit Mode = "audit"
	// ModeNRI ships lines that carry NRI keys (nri.*), audit events and NRI
	// error lines.
	ModeNRI Mode = "nri"
)

// ParseMode validates a mode name.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(strings.ToLower(s)); m {
	case "":
		return ModeAll, nil
	case ModeAll, ModeAudit, ModeNRI:
		return m, nil
	}
	return "", fmt.Errorf("unknown mode %q (want all, audit or nri)", s)
}

// Options configure a Builder. The zero value is the documented default.
type Options struct {
	// Prefix is prepended to parsed keys; "" means audit.DefaultPrefix.
	Prefix string
	// MessageKey is the journal field holding the log line; "" means MESSAGE.
	MessageKey string
	// Mode selects lines; "" means ModeAll.
	Mode Mode
	// Policy sets levels and redaction; nil means audit.DefaultPolicy().
	Policy *audit.Policy
	// KeepFields, when not empty, keeps only the journal fields matching
	// one of these patterns (path.Match); DropFields then removes fields.
	// MESSAGE is always kept when it could not be parsed.
	KeepFields []string
	DropFields []string
	// Now gives @timestamp for entries with neither a line time nor a
	// journal time; nil means time.Now.
	Now func() time.Time
}

// maxKeyCache bounds the sanitized-key cache so random keys cannot grow it.
const maxKeyCache = 4096

type cachedKey struct {
	raw      string // the line key, cloned
	full     string // prefix + sanitized
	bare     string // sanitized, without prefix
	plain    bool   // full needs no JSON escaping
	reserved bool   // full is a derived key or @timestamp: always suffixed
	bit      uint8  // full's bit in a line's key filter (recentSlot)
}

// recentSets is the number of two-entry sets of the cache in front of the
// key map: a line's few keys are found there with a string comparison or
// two instead of a map lookup. Two entries a set, because two keys of one
// line can share a set (nri.plugin and value.value do), and a direct-mapped
// cache would then miss on both in every line.
const recentSets = 1 << 6

// Builder turns journal entries into documents (DESIGN.md §3). It keeps
// scratch buffers between calls and is not safe for concurrent use: use one
// per goroutine.
type Builder struct {
	prefix     string
	messageKey string
	mode       Mode
	policy     *audit.Policy
	keep, drop []string
	now        func() time.Time

	pairs    []pair
	buf      []byte
	names    []string
	indexes  []string
	errs     []string
	taken    []string
	hashBuf  []byte
	keys     map[string]cachedKey
	recent   [2 * recentSets]cachedKey // set recentSlot(raw): entries 2s (newer), 2s+1
	uncached cachedKey                 // sanitized's result once the cache is full
	edits    []edit
	msgBuf   []byte
	keySet   map[string]struct{} // document keys, once a line has many
	suffix   map[string]int      // next _N to try per key, for repeated keys
	renamed  [][2]string         // journal names moved off derived keys: {name, name_N}
	shape    shape               // the field names of the last simple entry
	times    timeCache           // the minute of the last line time

	reservedFull    [9]string
	prefixPlain     bool   // the derived keys need no JSON escaping
	redactLens      uint64 // bit len&63 set for each redaction key's sanitized length
	identityMessage bool   // messageKey is SYSLOG_IDENTIFIER or _SYSTEMD_UNIT
}

// New validates opts and returns a Builder.
func New(opts Options) (*Builder, error) {
	b := &Builder{
		prefix:     opts.Prefix,
		messageKey: opts.MessageKey,
		policy:     opts.Policy,
		now:        opts.Now,
		keys:       make(map[string]cachedKey),
	}
	if b.prefix == "" {
		b.prefix = audit.DefaultPrefix
	}
	for _, c := range b.prefix {
		if c == '"' || c == '\\' || c < 0x20 {
			return nil, fmt.Errorf("parser: prefix %q: quotes, backslashes and control characters are not allowed", b.prefix)
		}
	}
	if b.messageKey == "" {
		b.messageKey = "MESSAGE"
	}
	mode, err := ParseMode(string(opts.Mode))
	if err != nil {
		return nil, fmt.Errorf("parser: %w", err)
	}
	b.mode = mode
	if b.policy == nil {
		b.policy = audit.DefaultPolicy()
	}
	if err := b.policy.Validate(); err != nil {
		return nil, fmt.Errorf("parser: policy: %w", err)
	}
	for _, list := range [][]string{opts.KeepFields, opts.DropFields} {
		for _, p := range list {
			if _, err := path.Match(p, ""); err != nil {
				return nil, fmt.Errorf("parser: field pattern %q: %w", p, err)
			}
		}
	}
	b.keep, b.drop = opts.KeepFields, opts.DropFields
	if b.now == nil {
		b.now = time.Now
	}
	for i, k := range []string{audit.KeyEvent, audit.KeyOp, audit.KeyField, audit.KeyPluginName,
		audit.KeyPluginIndex, audit.KeyRemoval, audit.KeyRuntime, audit.KeyErrorPlugin, audit.KeyParseError} {
		b.reservedFull[i] = b.prefix + k
	}
	b.prefixPlain = audit.IsPlainKey(b.prefix)
	for _, k := range append(audit.DefaultRedactKeys(), b.policy.RedactKeys...) {
		// A redaction key matches a sanitized key of its own length only
		// (audit.Policy.Redact): most keys are ruled out by one bit test.
		b.redactLens |= 1 << (len(strings.TrimPrefix(k.Key, "nri.")) & 63)
	}
	b.identityMessage = b.messageKey == "SYSLOG_IDENTIFIER" || b.messageKey == "_SYSTEMD_UNIT"
	return b, nil
}

// Prefix returns the key prefix in use.
func (b *Builder) Prefix() string { return b.prefix }

// Build fills r with the document for e and reports whether it is to be
// shipped (false when the mode or the policy drops the line). Strings in r
// may point into e.
func (b *Builder) Build(e *audit.Entry, r *audit.Record) bool {
	r.Reset()
	at, sameShape := b.shape.match(e)
	if !sameShape {
		at = b.scanFields(e)
	} else {
		b.taken = b.taken[:0] // a remembered shape has no prefixed names
	}
	var msgField *audit.JournalField
	var message string
	if i := at[identityCount]; i >= 0 {
		msgField = &e.Fields[i]
		message = msgField.Value
	}

	// Parse MESSAGE.
	var parseErr error
	b.pairs = b.pairs[:0]
	if msgField == nil {
		parseErr = fmt.Errorf("no %s field", b.messageKey)
	} else {
		b.pairs, b.buf, parseErr = parseLine(message, b.pairs, b.buf)
	}

	// Classify: the catalog event, the owners, NRI keys.
	var event *audit.Event
	var owners string
	hasOwners, hasNRIKey := false, false
	levelText := ""
	for i := range b.pairs {
		p := &b.pairs[i]
		switch {
		case p.key == "msg" && !p.isArray && event == nil:
			event, _ = audit.Lookup(p.val)
		case p.key == "nri.plugin" && !p.isArray && !hasOwners:
			owners, hasOwners = p.val, true
		case p.key == "level" && !p.isArray && levelText == "":
			levelText = p.val
		}
		if strings.HasPrefix(p.key, "nri.") {
			hasNRIKey = true
		}
	}
	ident, hasIdent := fieldValue(e, at[identSyslog])
	unit, hasUnit := fieldValue(e, at[identUnit])
	if b.identityMessage { // scanFields gave that name to MESSAGE
		ident, hasIdent = e.Get("SYSLOG_IDENTIFIER")
		unit, hasUnit = e.Get("_SYSTEMD_UNIT")
	}
	runtime, hasRuntime := detectRuntime(ident, hasIdent, unit, hasUnit)

	// Error attribution on every non-audit line, at every level; a MESSAGE
	// without pairs (bare words) is read as one text.
	b.errs = b.errs[:0]
	if len(b.pairs) == 0 && parseErr != nil && msgField != nil {
		b.errs = audit.ErrorPlugins(b.errs, message)
	}
	if event == nil {
		for i := range b.pairs {
			p := &b.pairs[i]
			if p.isArray {
				for _, v := range p.vals {
					b.errs = audit.ErrorPlugins(b.errs, v)
				}
			} else {
				b.errs = audit.ErrorPlugins(b.errs, p.val)
			}
		}
	}

	if parseErr == nil {
		switch b.mode {
		case ModeAudit:
			if event == nil && !b.isNRIError(levelText) {
				return false
			}
		case ModeNRI:
			if event == nil && !hasNRIKey && !b.isNRIError(levelText) {
				return false
			}
		}
	}
	level := b.policy.Level(audit.Subject{Event: event, Owners: owners, Runtime: runtime})
	if level == audit.LevelNone {
		return false
	}

	// Parsed keys, in line order.
	eventName := ""
	if event != nil {
		eventName = event.Name
	}
	// Values are not repaired here: Record.AppendJSON writes every invalid
	// UTF-8 byte as U+FFFD, so the document is valid whatever the line held.
	timeSet := false
	b.resetKeySet()
	b.edits = b.edits[:0]
	var written uint64 // a bit per key written so far (recentSlot): most keys skip the search
	for i := range b.pairs {
		p := &b.pairs[i]
		if p.key == "time" && !p.isArray && !timeSet {
			if t, ok := b.times.parse(p.val); ok {
				r.Timestamp, timeSet = t, true
				continue
			}
		}
		ck := b.sanitized(p.key)
		if level == audit.LevelMetadata && audit.IsValueKey(ck.bare) {
			b.edits = append(b.edits, edit{p.vs, p.ve})
			continue
		}
		key := b.unique(r, ck, written)
		written |= keyBit(ck, key)
		if p.isArray {
			start := len(b.names)
			redacted := false
			for _, v := range p.vals {
				v, red := b.redact(eventName, ck.bare, v)
				redacted = redacted || red
				b.names = append(b.names, v)
			}
			if redacted {
				b.edits = append(b.edits, edit{p.vs, p.ve})
			}
			r.AddStrings(key, b.names[start:]...)
			b.names = b.names[:start]
			b.noteKey(key)
			continue
		}
		v, red := b.redact(eventName, ck.bare, p.val)
		if red {
			b.edits = append(b.edits, edit{p.vs, p.ve})
		}
		if ck.plain { // a _N suffix keeps a key plain
			r.AddPlainString(key, v)
		} else {
			r.AddString(key, v)
		}
		b.noteKey(key)
	}
	// A value cut by a syntax error is not in the document; when it is one
	// the policy hides, the rest of MESSAGE (where it is) is hidden too.
	if se, ok := parseErr.(*SyntaxError); ok && se.key != "" && se.valueStart <= len(message) {
		bare := b.sanitized(se.key).bare
		if level == audit.LevelMetadata && audit.IsValueKey(bare) {
			b.edits = append(b.edits, edit{se.valueStart, len(message)})
		} else if _, red := b.redact(eventName, bare, "?"); red {
			b.edits = append(b.edits, edit{se.valueStart, len(message)})
		}
	}
	if !timeSet {
		r.Timestamp = e.Realtime
		if r.Timestamp.IsZero() {
			r.Timestamp = b.now()
		}
	}

	// Derived keys.
	derivedStart := len(r.Fields)
	if event != nil {
		r.AddString(b.reservedFull[0], event.Name)
		r.AddString(b.reservedFull[1], string(event.Op))
		if len(event.Fields) == 1 {
			r.AddString(b.reservedFull[2], event.Fields[0])
		} else {
			r.AddStrings(b.reservedFull[2], event.Fields...)
		}
	}
	if hasOwners {
		o := audit.ParseOwners(owners, b.names[:0], b.indexes[:0])
		if o.Names != nil {
			r.AddStrings(b.reservedFull[3], o.Names...)
			r.AddStrings(b.reservedFull[4], o.Indexes...)
			b.names, b.indexes = o.Names[:0], o.Indexes[:0]
		}
		if o.Removal {
			r.AddBool(b.reservedFull[5], true)
		}
	}
	if hasRuntime {
		r.AddString(b.reservedFull[6], runtime)
	}
	if len(b.errs) > 0 {
		r.AddStrings(b.reservedFull[7], b.errs...)
	}
	if parseErr != nil {
		r.AddString(b.reservedFull[8], parseErr.Error())
	}
	for i := derivedStart; i < len(r.Fields); i++ {
		r.Fields[i].PlainKey = b.prefixPlain
	}

	// Journal fields, as they come. A name the entry repeats as a separate
	// field (in_systemd before Fluent Bit 3.2.3 does) is merged into one
	// array so the document never has duplicate keys.
	if sameShape {
		b.addJournalKnown(e, r, at[identityCount], parseErr != nil, message)
		b.setID(e, r, &at)
		return true
	}
	var seen [seenWords]uint64
	selecting := len(b.keep) > 0 || len(b.drop) > 0
	journalStart := len(r.Fields)
	b.renamed = b.renamed[:0]
	duplicates := false
	for i := range e.Fields {
		f := &e.Fields[i]
		if selecting && !b.keepField(f.Name) && !(parseErr != nil && f == msgField) {
			continue
		}
		name := f.Name
		bit, plain := nameInfo(name)
		if !plain {
			name = audit.ValidUTF8(name)
			bit, _ = nameInfo(name)
		}
		if name != "" && (name[0] == b.prefix[0] || name[0] == '@') {
			// Only names with the prefix or @timestamp can meet a derived
			// key: parsed keys already avoid journal names (scanFields).
			if n, rename := b.journalName(e, r, name, journalStart); rename {
				if j := r.Index(n); j >= journalStart {
					mergeRepeated(r, j, f)
					continue
				}
				name, bit = n, nameBit(n)
			}
		}
		if seen[bit>>6]&(1<<(bit&63)) != 0 {
			if j := r.Index(name); j >= 0 {
				duplicates = true
				if f.Name == b.messageKey {
					// MESSAGE stays the string it was parsed from (§3.1
					// rule 13): a repeated MESSAGE keeps its first value.
					continue
				}
				mergeRepeated(r, j, f)
				continue
			}
		}
		seen[bit>>6] |= 1 << (bit & 63)
		if f == msgField {
			r.AddString(name, b.rewriteMessage(message))
			r.Fields[len(r.Fields)-1].PlainKey = plain
			continue
		}
		if f.Repeated() {
			start := len(b.names)
			b.names = append(b.names, f.Value)
			b.names = append(b.names, f.More...)
			r.AddStrings(name, b.names[start:]...)
			b.names = b.names[:start]
			continue
		}
		if plain {
			r.AddPlainString(name, f.Value)
		} else {
			r.AddString(name, f.Value)
		}
	}
	if !duplicates {
		b.shape.remember(b, e, at)
	}

	b.setID(e, r, &at)
	return true
}

// scanFields makes the one pass over the entry's fields that everything
// but the copy needs: it returns where the identity fields and MESSAGE are
// (first occurrences, in hashing order, -1 when absent; see setID) and
// collects in b.taken the journal names that start with the prefix, which
// would collide with parsed keys (journal names win, parsed keys get a
// suffix).
func (b *Builder) scanFields(e *audit.Entry) [identityCount + 1]int {
	var at [identityCount + 1]int
	for i := range at {
		at[i] = -1
	}
	b.taken = b.taken[:0]
	p := b.prefix // never empty (New)
	for i := range e.Fields {
		name := e.Fields[i].Name
		// The first byte rules out almost every name without a call.
		if len(name) >= len(p) && name[0] == p[0] && name[:len(p)] == p {
			b.taken = append(b.taken, name)
		}
		if name == b.messageKey {
			if at[identityCount] < 0 {
				at[identityCount] = i
			}
			continue
		}
		if k := identityIndex(name); k >= 0 && at[k] < 0 {
			at[k] = i
		}
	}
	return at
}

// fieldValue returns the first value of e.Fields[i], if i >= 0.
func fieldValue(e *audit.Entry, i int) (string, bool) {
	if i < 0 {
		return "", false
	}
	return e.Fields[i].Value, true
}

// isNRIError reports whether the current line is an NRI error: it blames a
// plugin, or it is a warning or worse that mentions NRI.
func (b *Builder) isNRIError(level string) bool {
	if len(b.errs) > 0 {
		return true
	}
	switch level {
	case "warning", "warn", "error", "fatal", "panic":
	default:
		return false
	}
	for i := range b.pairs {
		p := &b.pairs[i]
		if !p.isArray && (strings.Contains(p.val, "NRI") || strings.Contains(p.val, "nri")) {
			return true
		}
	}
	return false
}

func (b *Builder) redact(eventName, bareKey, value string) (string, bool) {
	if eventName == "" && len(b.policy.RedactKeys) == 0 {
		return value, false // only audit events have built-in redactions
	}
	if b.redactLens&(1<<(len(bareKey)&63)) == 0 {
		return value, false // no redaction key has this length
	}
	if v, ok := b.policy.Redact(eventName, bareKey, value); ok {
		return v, true
	}
	return value, false
}

// edit marks a value span of MESSAGE that must not be shipped as written.
type edit struct{ start, end int }

// rewriteMessage returns MESSAGE with every redacted or policy-dropped value
// replaced, so the raw line does not leak what the parsed keys hide. Both
// logfmt and JSON stay well-formed: the replacement is a quoted string.
func (b *Builder) rewriteMessage(message string) string {
	if len(b.edits) == 0 {
		return message
	}
	repl := b.policy.Replacement
	if repl == "" {
		repl = audit.Redacted
	}
	out := b.msgBuf[:0]
	last := 0
	for _, e := range b.edits {
		if e.start < last || e.end > len(message) || e.start > e.end {
			continue
		}
		out = append(out, message[last:e.start]...)
		out = strconv.AppendQuote(out, repl)
		last = e.end
	}
	out = append(out, message[last:]...)
	b.msgBuf = out
	return string(out)
}

// sanitized returns the document key for a line key, from a bounded cache.
// The cache clones keys because they may point into a reused buffer. The
// result points into the builder and is valid until the next call.
func (b *Builder) sanitized(raw string) *cachedKey {
	i := 2 * recentSlot(raw)
	if e := &b.recent[i]; e.full != "" && e.raw == raw {
		return e
	}
	if e := &b.recent[i+1]; e.full != "" && e.raw == raw {
		return e
	}
	// A miss: the key enters the set as its newer entry, the older goes.
	b.recent[i+1] = b.recent[i]
	slot := &b.recent[i]
	if ck, ok := b.keys[raw]; ok {
		*slot = ck
		return slot
	}
	// Keys are repaired before the uniqueness checks: two keys differing
	// only in invalid bytes must not become one JSON key.
	bare := audit.ValidUTF8(audit.SanitizeKey(raw))
	ck := cachedKey{full: b.prefix + bare}
	ck.bare = ck.full[len(b.prefix):]
	ck.plain = audit.IsPlainKey(ck.full)
	ck.reserved = audit.IsReserved(ck.bare) || ck.full == audit.TimestampKey
	ck.bit = uint8(recentSlot(ck.full))
	if len(b.keys) < maxKeyCache {
		ck.raw = strings.Clone(raw)
		b.keys[ck.raw] = ck
		*slot = ck
		return slot
	}
	b.uncached = ck
	return &b.uncached
}

// recentSlot picks the recent-cache slot of a line key from its length and
// its first and last eight bytes (value.major and value.minor must not
// share one).
func recentSlot(raw string) int {
	n := len(raw)
	var w uint64
	if n >= 8 {
		w = load64(raw, 0) ^ bits.RotateLeft64(load64(raw, n-8), 29)
	} else {
		w = packShort(raw)
	}
	return int(((w ^ uint64(n)) * 0x9e3779b97f4a7c15) >> (64 - 6))
}

// keyBit is key's bit in a line's key filter; key is ck.full or a suffixed
// form of it.
func keyBit(ck *cachedKey, key string) uint64 {
	if key == ck.full {
		return 1 << ck.bit
	}
	return 1 << recentSlot(key)
}

// linearKeys is how many document keys are searched linearly before the
// builder switches to a set: lines with thousands of keys stay linear-time.
const linearKeys = 32

// unique returns ck.full, or ck.full with the first free _N suffix when the
// key is reserved or already in the document.
func (b *Builder) unique(r *audit.Record, ck *cachedKey, written uint64) string {
	if !ck.reserved && written&(1<<ck.bit) == 0 && len(b.taken) == 0 {
		// The record holds only this line's keys so far, all in written:
		// a clear bit means the key is free.
		return ck.full
	}
	if !ck.reserved && !b.isTaken(r, ck.full) {
		return ck.full
	}
	if b.suffix == nil {
		b.suffix = make(map[string]int)
	}
	n := b.suffix[ck.full]
	if n < 2 {
		n = 2
	}
	for ; ; n++ {
		k := ck.full + "_" + strconv.Itoa(n)
		if !b.isTaken(r, k) {
			// Suffixes of one key only grow: the next search starts here.
			b.suffix[strings.Clone(ck.full)] = n + 1
			return k
		}
	}
}

func (b *Builder) isTaken(r *audit.Record, key string) bool {
	if key == audit.TimestampKey {
		return true
	}
	if b.keySet == nil && len(r.Fields) >= linearKeys {
		b.keySet = make(map[string]struct{}, 2*len(r.Fields))
	}
	if b.keySet != nil {
		if len(b.keySet) == 0 {
			for i := range r.Fields {
				b.keySet[r.Fields[i].Key] = struct{}{}
			}
		}
		if _, ok := b.keySet[key]; ok {
			return true
		}
	} else if r.Index(key) >= 0 {
		return true
	}
	for _, t := range b.taken {
		if t == key {
			return true
		}
	}
	return false
}

// noteKey records a key written by the parsed-key loop in the key set.
func (b *Builder) noteKey(key string) {
	if b.keySet != nil {
		b.keySet[key] = struct{}{}
	}
}

// resetKeySet forgets the previous line's keys and suffixes. The set is
// dropped, not cleared, so one huge line does not make every later line
// pay for a big map.
func (b *Builder) resetKeySet() {
	b.keySet = nil
	if len(b.suffix) > 0 {
		b.suffix = nil
	}
}

// seenWords is the size of the duplicate prefilter in 64-bit words: 1024
// bits keep false hits (each costs a search of the record) rare for the
// two dozen names of a journal entry.
const seenWords = 16

// nameInfo returns a cheap 10-bit fingerprint of a field name for the
// duplicate prefilter (a hit is confirmed by a search of the record) and
// whether the name is a plain key (audit.IsPlainKey; TestNameInfo checks
// they agree), reading the name once. The fingerprint mixes the first and
// last eight bytes and the length: journal names often differ in one byte
// only (_UID, _GID, _PID).
func nameInfo(name string) (bit uint, plain bool) {
	n := len(name)
	var w, m uint64
	switch {
	case n >= 8:
		first, last := load64(name, 0), load64(name, n-8)
		m = specialBytes(first) | specialBytes(last)
		for i := 8; i < n-8; i += 8 {
			m |= specialBytes(load64(name, i))
		}
		w = first ^ bits.RotateLeft64(last, 31)
	case n >= 4:
		w = uint64(load32(name, 0)) | uint64(load32(name, n-4))<<32
		m = specialBytes(w)
	default:
		w = packShort(name)
		m = specialBytes(w | 0x6161616161616161<<(8*n)) // padded with clean 'a'
	}
	return uint(((w ^ uint64(n)) * 0x9e3779b97f4a7c15) >> (64 - 10)), m == 0
}

// specialBytes is not zero when a byte of w is < 0x20, '"', '\\' or
// >= 0x80, the bytes that keep a key from being plain (the word test of
// package audit's encoder).
func specialBytes(w uint64) uint64 {
	const lsb, msb = 0x0101010101010101, 0x8080808080808080
	return ((w - 0x20*lsb) | ((w ^ '"'*lsb) - lsb) | ((w ^ '\\'*lsb) - lsb) | w) & msb
}

// load64 reads eight bytes of s at i, little endian (one load on amd64).
func load64(s string, i int) uint64 {
	_ = s[i+7]
	return uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
		uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
}

// packShort packs a string shorter than eight bytes into a word, little
// endian, zero above it.
func packShort(s string) uint64 {
	var w uint64
	for i := 0; i < len(s); i++ {
		w |= uint64(s[i]) << (8 * i)
	}
	return w
}

func load32(s string, i int) uint32 {
	_ = s[i+3]
	return uint32(s[i]) | uint32(s[i+1])<<8 | uint32(s[i+2])<<16 | uint32(s[i+3])<<24
}

// journalName returns the name a journal field is written under when name
// is @timestamp or a key the document already has before the journal fields
// (start), such as a derived nri_event: the first free name_N, the same for
// every field of that name. rename is false when name can be used as it is.
func (b *Builder) journalName(e *audit.Entry, r *audit.Record, name string, start int) (string, bool) {
	for _, rn := range b.renamed {
		if rn[0] == name {
			return rn[1], true
		}
	}
	if name != audit.TimestampKey {
		if j := r.Index(name); j < 0 || j >= start {
			return name, false
		}
	}
	for n := 2; ; n++ {
		k := name + "_" + strconv.Itoa(n)
		if r.Index(k) >= 0 {
			continue
		}
		if _, inEntry := e.Get(k); inEntry {
			continue
		}
		b.renamed = append(b.renamed, [2]string{name, k})
		return k, true
	}
}

// nameBit is the duplicate-prefilter bit of a name (see nameInfo).
func nameBit(name string) uint {
	bit, _ := nameInfo(name)
	return bit
}

// mergeRepeated appends the values of f to the record field at j, which
// becomes an array.
func mergeRepeated(r *audit.Record, j int, f *audit.JournalField) {
	prev := &r.Fields[j]
	var vals []string
	switch prev.Kind {
	case audit.Strings:
		vals = append(vals, prev.Strs...)
	default:
		vals = append(vals, prev.Str)
	}
	vals = append(vals, f.Value)
	vals = append(vals, f.More...)
	*prev = audit.Field{Key: prev.Key, Kind: audit.Strings, Strs: vals}
}

func (b *Builder) keepField(name string) bool {
	if len(b.keep) > 0 && !matchAny(b.keep, name) {
		return false
	}
	return !matchAny(b.drop, name)
}

func matchAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if p == name {
			return true
		}
		if ok, _ := path.Match(p, name); ok {
			return true
		}
	}
	return false
}

// setID derives the document id from what identifies a journal entry: the
// host and boot (_MACHINE_ID, _BOOT_ID, _HOSTNAME), the writer (_PID,
// SYSLOG_IDENTIFIER, _SYSTEMD_UNIT, _STREAM_ID), the journal time, the cursor
// when the reader has one, and the content (MESSAGE, whose logrus text also
// carries a nanosecond time). The same entry always gets the same id, so a
// re-sent document is a 409 conflict, never a duplicate; hashing only these
// fields keeps the id stable whatever keep_fields/drop_fields select.
//
// Readers list fields in different orders (sdjournal in storage order,
// journalctl -o json in hash order): at gives the identity fields in a
// fixed order (scanFields), so every reader derives the same id.

func (b *Builder) setID(e *audit.Entry, r *audit.Record, at *[identityCount + 1]int) {
	h := append(b.hashBuf[:0], "nri-audit/v1\x00"...)
	h = binary.BigEndian.AppendUint64(h, uint64(e.Realtime.UnixNano()))
	h = append(h, e.Cursor...)
	h = append(h, 0)
	for k, i := range at {
		if i < 0 {
			h = append(h, byte(k), 0xff) // absent differs from empty
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
	copy(r.ID[:], sum[:audit.IDSize])
	if cap(h) <= 1<<20 {
		b.hashBuf = h
	}
}

// identityCount is the number of journal fields identityIndex knows.
const identityCount = 7

// Hashing positions of the fields detectRuntime reads.
const (
	identSyslog = 4
	identUnit   = 5
)

// identityIndex gives the hashing position of an identity field (then
// MESSAGE comes last), or -1. The names have distinct lengths, so one
// comparison decides.
func identityIndex(name string) int {
	switch len(name) {
	case len("_MACHINE_ID"):
		if name == "_MACHINE_ID" {
			return 0
		}
	case len("_BOOT_ID"):
		if name == "_BOOT_ID" {
			return 1
		}
	case len("_HOSTNAME"):
		if name == "_HOSTNAME" {
			return 2
		}
	case len("_PID"):
		if name == "_PID" {
			return 3
		}
	case len("SYSLOG_IDENTIFIER"):
		if name == "SYSLOG_IDENTIFIER" {
			return identSyslog
		}
	case len("_SYSTEMD_UNIT"):
		if name == "_SYSTEMD_UNIT" {
			return identUnit
		}
	case len("_STREAM_ID"):
		if name == "_STREAM_ID" {
			return 6
		}
	}
	return -1
}

// detectRuntime applies DESIGN.md §3.1 rule 15 to the first
// SYSLOG_IDENTIFIER and _SYSTEMD_UNIT values.
func detectRuntime(ident string, hasIdent bool, unit string, hasUnit bool) (string, bool) {
	hasIdent = hasIdent && ident != "" // an empty identifier names nothing
	v := ident
	if !hasIdent {
		if !hasUnit {
			return "", false
		}
		v = unit
	}
	switch {
	case strings.Contains(v, "containerd"):
		return "containerd", true
	case strings.Contains(v, "crio"), strings.Contains(v, "cri-o"):
		return "crio", true
	case hasIdent:
		return ident, true
	}
	return "", false
}

// parseLine detects the format and decodes a MESSAGE into pairs.
func parseLine(line string, pairs []pair, buf []byte) ([]pair, []byte, error) {
	i := 0
	for i < len(line) && isSpace(line[i]) {
		i++
	}
	if i < len(line) {
		switch line[i] {
		case '{':
			return decodeJSON(line, pairs, buf)
		case '[':
			if validJSON(line) {
				return pairs, buf, &SyntaxError{Format: "json", Offset: i, Msg: "value is not an object"}
			}
		}
	}
	pairs, buf, err := decodeLogfmt(line, pairs, buf)
	if err == nil && len(pairs) == 0 {
		// A JSON object parses even with no keys ({}, {"a":null}); a text
		// line needs one key=value pair (DESIGN.md §3.1 rule 5).
		err = errNoPairs(line)
	}
	return pairs, buf, err
}

type noPairsError struct{ empty bool }

func (e noPairsError) Error() string {
	if e.empty {
		return "empty message"
	}
	return "logfmt: no key=value pair"
}

func errNoPairs(message string) error {
	return noPairsError{empty: strings.TrimSpace(message) == ""}
}
