package summary

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/nri-audit/nri-audit/audit"
)

// NoPlugin names adjustments logged without nri.plugin (clear linux RDT,
// legacy device rules).
const NoPlugin = "(none)"

// Ops are the operation columns, in print order.
var Ops = []audit.Op{audit.OpAdd, audit.OpRemove, audit.OpSet, audit.OpClear, audit.OpInject}

// Adjustment counts one plugin's changes of one field.
type Adjustment struct {
	Plugin, Field string
	ByOp          map[audit.Op]int
	Total         int
}

// PluginError counts the error lines that name one plugin.
type PluginError struct {
	Plugin string
	Count  int
	Sample string // the first such error text
}

// Summary is the tally of a document stream.
type Summary struct {
	Documents   int
	AuditEvents int
	ParseErrors int
	BadLines    int // not a JSON object
	Runtimes    map[string]int
	Adjustments []Adjustment  // sorted by plugin, then field
	Errors      []PluginError // sorted by count, then plugin
}

// maxLine bounds one document line.
const maxLine = 64 << 20

// Read tallies the documents of r; prefix is the key prefix ("" means
// audit.DefaultPrefix).
func Read(r io.Reader, prefix string) (*Summary, error) {
	if prefix == "" {
		prefix = audit.DefaultPrefix
	}
	t := newTally(prefix)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		t.add(line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("summary: read: %w", err)
	}
	return t.result(), nil
}

type adjKey struct{ plugin, field string }

type tally struct {
	k struct {
		event, op, field, plugin, errorPlugin, runtime, parseError, msg, errText string
	}
	s      Summary
	adj    map[adjKey]*Adjustment
	errs   map[string]*PluginError
	fields []string
	owners []string
}

func newTally(prefix string) *tally {
	t := &tally{adj: map[adjKey]*Adjustment{}, errs: map[string]*PluginError{}}
	t.k.event = prefix + audit.KeyEvent
	t.k.op = prefix + audit.KeyOp
	t.k.field = prefix + audit.KeyField
	t.k.plugin = prefix + audit.KeyPlugin
	t.k.errorPlugin = prefix + audit.KeyErrorPlugin
	t.k.runtime = prefix + audit.KeyRuntime
	t.k.parseError = prefix + audit.KeyParseError
	t.k.msg = prefix + audit.KeyMsg
	t.k.errText = prefix + "error"
	t.s.Runtimes = map[string]int{}
	return t
}

func (t *tally) add(line []byte) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(line, &doc); err != nil || doc == nil {
		t.s.BadLines++
		return
	}
	t.s.Documents++
	if rt := str(doc[t.k.runtime]); rt != "" {
		t.s.Runtimes[rt]++
	}
	if _, ok := doc[t.k.parseError]; ok {
		t.s.ParseErrors++
	}
	if ev := str(doc[t.k.event]); ev != "" {
		t.s.AuditEvents++
		op := audit.Op(str(doc[t.k.op]))
		t.fields = strs(t.fields[:0], doc[t.k.field])
		if len(t.fields) == 0 {
			t.fields = append(t.fields, "?")
		}
		t.owners = owners(t.owners[:0], str(doc[t.k.plugin]))
		for _, owner := range t.owners {
			for _, f := range t.fields {
				k := adjKey{owner, f}
				a := t.adj[k]
				if a == nil {
					a = &Adjustment{Plugin: owner, Field: f, ByOp: map[audit.Op]int{}}
					t.adj[k] = a
				}
				a.ByOp[op]++
				a.Total++
			}
		}
	}
	for _, p := range strs(nil, doc[t.k.errorPlugin]) {
		e := t.errs[p]
		if e == nil {
			e = &PluginError{Plugin: p}
			t.errs[p] = e
		}
		e.Count++
		if e.Sample == "" {
			e.Sample = str(doc[t.k.errText])
			if e.Sample == "" {
				e.Sample = str(doc[t.k.msg])
			}
		}
	}
}

// owners splits an nri.plugin value into the plugins that made the change:
// comma lists count for each owner, the removal marker is dropped.
func owners(dst []string, v string) []string {
	if v == "" {
		return append(dst, NoPlugin)
	}
	for _, o := range strings.Split(v, ",") {
		o = strings.TrimPrefix(strings.TrimSpace(o), "-")
		if o != "" {
			dst = append(dst, o)
		}
	}
	if len(dst) == 0 {
		dst = append(dst, NoPlugin)
	}
	return dst
}

// str decodes a JSON string value ("" for anything else).
func str(raw json.RawMessage) string {
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// strs decodes a string or an array of strings.
func strs(dst []string, raw json.RawMessage) []string {
	if len(raw) == 0 {
		return dst
	}
	if raw[0] == '"' {
		if s := str(raw); s != "" {
			dst = append(dst, s)
		}
		return dst
	}
	var list []any
	if json.Unmarshal(raw, &list) != nil {
		return dst
	}
	for _, v := range list {
		if s, ok := v.(string); ok && s != "" {
			dst = append(dst, s)
		}
	}
	return dst
}

func (t *tally) result() *Summary {
	s := t.s
	for _, a := range t.adj {
		s.Adjustments = append(s.Adjustments, *a)
	}
	sort.Slice(s.Adjustments, func(i, j int) bool {
		a, b := s.Adjustments[i], s.Adjustments[j]
		if a.Plugin != b.Plugin {
			return a.Plugin < b.Plugin
		}
		return a.Field < b.Field
	})
	for _, e := range t.errs {
		s.Errors = append(s.Errors, *e)
	}
	sort.Slice(s.Errors, func(i, j int) bool {
		a, b := s.Errors[i], s.Errors[j]
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		return a.Plugin < b.Plugin
	})
	return &s
}

// Write prints the summary as text tables.
func (s *Summary) Write(w io.Writer) error {
	bw := bufio.NewWriter(w)
	runtimes := make([]string, 0, len(s.Runtimes))
	for rt, n := range s.Runtimes {
		runtimes = append(runtimes, fmt.Sprintf("%s %d", rt, n))
	}
	sort.Strings(runtimes)
	fmt.Fprintf(bw, "%d documents, %d audit events, %d unparseable messages", s.Documents, s.AuditEvents, s.ParseErrors)
	if len(runtimes) > 0 {
		fmt.Fprintf(bw, " (%s)", strings.Join(runtimes, ", "))
	}
	fmt.Fprintln(bw)
	if s.BadLines > 0 {
		fmt.Fprintf(bw, "%d input lines were not JSON documents and were skipped\n", s.BadLines)
	}

	fmt.Fprintln(bw, "\nAdjustments by plugin and field")
	if len(s.Adjustments) == 0 {
		fmt.Fprintln(bw, "  (none)")
	} else {
		tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
		fmt.Fprint(tw, "PLUGIN\tFIELD\t")
		for _, op := range Ops {
			fmt.Fprintf(tw, "%s\t", strings.ToUpper(string(op)))
		}
		fmt.Fprint(tw, "TOTAL\n")
		prev := ""
		for _, a := range s.Adjustments {
			p := a.Plugin
			if p == prev {
				p = ""
			}
			prev = a.Plugin
			fmt.Fprintf(tw, "%s\t%s\t", p, a.Field)
			for _, op := range Ops {
				if n := a.ByOp[op]; n > 0 {
					fmt.Fprintf(tw, "%d\t", n)
				} else {
					fmt.Fprint(tw, "-\t")
				}
			}
			fmt.Fprintf(tw, "%d\n", a.Total)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}

	fmt.Fprintln(bw, "\nErrors by plugin")
	if len(s.Errors) == 0 {
		fmt.Fprintln(bw, "  (none)")
	} else {
		tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
		fmt.Fprint(tw, "PLUGIN\tERRORS\tFIRST ERROR\n")
		for _, e := range s.Errors {
			fmt.Fprintf(tw, "%s\t%d\t%s\n", e.Plugin, e.Count, clip(e.Sample, 100))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// clip shortens s to n runes on one line.
func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
