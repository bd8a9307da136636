package efk_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/nri-audit/nri-audit/audit"
	"github.com/nri-audit/nri-audit/examples/efk"
	"github.com/nri-audit/nri-audit/examples/efk/efktest"
	"github.com/nri-audit/nri-audit/kibana"
	"github.com/nri-audit/nri-audit/kibana/kibanatest"
)

type reference struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Name string `json:"name"`
}

// savedObject is one line of an export; unknown top-level keys are errors.
type savedObject struct {
	Type                 string          `json:"type"`
	ID                   string          `json:"id"`
	Attributes           json.RawMessage `json:"attributes"`
	References           []reference     `json:"references"`
	CoreMigrationVersion string          `json:"coreMigrationVersion"`
	TypeMigrationVersion string          `json:"typeMigrationVersion"`
	Managed              bool            `json:"managed"`
}

func (o savedObject) key() string { return o.Type + "/" + o.ID }

func strictDecode(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data")
	}
	return nil
}

// parseSavedObjects reads an NDJSON export.
func parseSavedObjects(name string, body []byte) ([]savedObject, error) {
	var objs []savedObject
	for i, line := range bytes.Split(bytes.TrimRight(body, "\n"), []byte("\n")) {
		var o savedObject
		if err := strictDecode(line, &o); err != nil {
			return nil, fmt.Errorf("%s:%d: %v", name, i+1, err)
		}
		if o.Type == "" || o.ID == "" || len(o.Attributes) == 0 || o.References == nil {
			return nil, fmt.Errorf("%s:%d: type, id, attributes and references are required", name, i+1)
		}
		if o.CoreMigrationVersion == "" || o.TypeMigrationVersion == "" {
			return nil, fmt.Errorf("%s:%d %s: migration versions are required (Kibana would run every migration)", name, i+1, o.key())
		}
		objs = append(objs, o)
	}
	return objs, nil
}

func loadSavedObjects(t *testing.T) []savedObject {
	t.Helper()
	files, err := efk.KibanaSavedObjects()
	if err != nil {
		t.Fatal(err)
	}
	var objs []savedObject
	for _, f := range files {
		o, err := parseSavedObjects(f.Name, f.Body)
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, o...)
	}
	return objs
}

// templateMappings are the mappings both index templates give documents
// (they share the component templates).
func templateMappings(t *testing.T) *efktest.Mappings {
	t.Helper()
	var all []*efktest.Mappings
	for _, load := range []func() ([]efk.Asset, error){efk.IndexTemplateAssets, efk.DataStreamAssets} {
		assets, err := load()
		if err != nil {
			t.Fatal(err)
		}
		m := efk.ComposedMappings(t, assets)
		all = append(all, m)
	}
	// A field must be mapped the same way whichever target is used.
	for f, typ := range all[0].Fields {
		if other, ok := all[1].Fields[f]; !ok || other != typ {
			t.Fatalf("field %s: %s in the index template, %q in the data stream template", f, typ, other)
		}
	}
	return all[0]
}

func templatePatterns(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, load := range []func() ([]efk.Asset, error){efk.IndexTemplateAssets, efk.DataStreamAssets} {
		assets, err := load()
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range assets {
			if !strings.HasPrefix(a.Path, "_index_template/") {
				continue
			}
			var b struct {
				IndexPatterns []string `json:"index_patterns"`
			}
			if err := json.Unmarshal(a.Body, &b); err != nil {
				t.Fatal(err)
			}
			out = append(out, b.IndexPatterns...)
		}
	}
	return out
}

// Lens state, strictly for the parts the checks read.
type lensAttrs struct {
	Title             string          `json:"title"`
	Description       string          `json:"description"`
	VisualizationType string          `json:"visualizationType"`
	State             json.RawMessage `json:"state"`
}

type lensState struct {
	DatasourceStates struct {
		FormBased struct {
			Layers map[string]struct {
				Columns           map[string]lensColumn `json:"columns"`
				ColumnOrder       []string              `json:"columnOrder"`
				IncompleteColumns map[string]any        `json:"incompleteColumns"`
			} `json:"layers"`
		} `json:"formBased"`
	} `json:"datasourceStates"`
	Visualization      map[string]any `json:"visualization"`
	Query              kql            `json:"query"`
	Filters            []any          `json:"filters"`
	InternalReferences []any          `json:"internalReferences"`
	AdHocDataViews     map[string]any `json:"adHocDataViews"`
}

type lensColumn struct {
	Label         string `json:"label"`
	CustomLabel   bool   `json:"customLabel"`
	DataType      string `json:"dataType"`
	OperationType string `json:"operationType"`
	SourceField   string `json:"sourceField"`
	IsBucketed    bool   `json:"isBucketed"`
	Scale         string `json:"scale"`
	Params        struct {
		Interval         string `json:"interval"`
		IncludeEmptyRows *bool  `json:"includeEmptyRows"`
		DropPartials     *bool  `json:"dropPartials"`
		Size             int    `json:"size"`
		OrderBy          *struct {
			Type     string `json:"type"`
			ColumnID string `json:"columnId"`
		} `json:"orderBy"`
		OrderDirection string         `json:"orderDirection"`
		OtherBucket    *bool          `json:"otherBucket"`
		MissingBucket  *bool          `json:"missingBucket"`
		ParentFormat   map[string]any `json:"parentFormat"`
		EmptyAsNull    *bool          `json:"emptyAsNull"`
	} `json:"params"`
}

type kql struct {
	Query    string `json:"query"`
	Language string `json:"language"`
}

var (
	kqlField  = regexp.MustCompile(`([@A-Za-z_][A-Za-z0-9_.@]*)\s*:`)
	kqlEvents = regexp.MustCompile(`nri_event\s*:\s*\(([^)]*)\)`)
)

// checker validates saved objects against the index template mappings and
// collects the problems, so tests can also prove it catches mistakes.
type checker struct {
	m        *efktest.Mappings
	patterns []string
	errs     []string
	charted  map[string][]string // object id → Lens source fields
	shown    map[string][]string // object id → search columns
	queries  map[string]string   // object id → KQL
}

func newChecker(t *testing.T) *checker {
	t.Helper()
	return &checker{
		m: templateMappings(t), patterns: templatePatterns(t),
		charted: map[string][]string{}, shown: map[string][]string{}, queries: map[string]string{},
	}
}

func (c *checker) errorf(format string, args ...any) {
	c.errs = append(c.errs, fmt.Sprintf(format, args...))
}

type dashPanel struct {
	Version    string `json:"version"`
	Type       string `json:"type"`
	PanelIndex string `json:"panelIndex"`
	GridData   struct {
		X int    `json:"x"`
		Y int    `json:"y"`
		W int    `json:"w"`
		H int    `json:"h"`
		I string `json:"i"`
	} `json:"gridData"`
	EmbeddableConfig map[string]any `json:"embeddableConfig"`
	PanelRefName     string         `json:"panelRefName"`
}

// checkKQL checks that every field a KQL query names is mapped and every
// event name it lists is one of the catalog's.
func (c *checker) checkKQL(where string, q kql) {
	if q.Language != "kuery" {
		c.errorf("%s: query language %q, want kuery", where, q.Language)
	}
	for _, sm := range kqlField.FindAllStringSubmatch(q.Query, -1) {
		if _, _, ok := c.m.Resolve(sm[1]); !ok {
			c.errorf("%s: query %q uses %s, which the index template does not map", where, q.Query, sm[1])
		}
	}
	events := map[string]bool{}
	for _, e := range audit.Events() {
		events[e.Name] = true
	}
	for _, sm := range kqlEvents.FindAllStringSubmatch(q.Query, -1) {
		for _, name := range strings.Split(sm[1], " or ") {
			if name = strings.TrimSpace(name); !events[name] {
				c.errorf("%s: query names event %q, which is not in the audit catalog", where, name)
			}
		}
	}
}

// checkAll runs every check on an export.
func (c *checker) checkAll(objs []savedObject) {
	byKey := map[string]savedObject{}
	for _, o := range objs {
		if _, dup := byKey[o.key()]; dup {
			c.errorf("%s twice", o.key())
		}
		byKey[o.key()] = o
	}
	// Every reference resolves to an object of the file.
	for _, o := range objs {
		names := map[string]bool{}
		for _, r := range o.References {
			if _, ok := byKey[r.Type+"/"+r.ID]; !ok {
				c.errorf("%s: reference %s %s/%s is not in the file", o.key(), r.Name, r.Type, r.ID)
			}
			if names[r.Name] {
				c.errorf("%s: reference name %s twice", o.key(), r.Name)
			}
			names[r.Name] = true
		}
	}
	counts := map[string]int{}
	for _, o := range objs {
		counts[o.Type]++
		switch o.Type {
		case "index-pattern":
			c.checkDataView(o)
		case "lens":
			c.checkLens(o)
		case "search":
			c.checkSearch(o)
		case "dashboard":
			c.checkDashboard(o, byKey)
		default:
			c.errorf("%s: unexpected type", o.key())
		}
	}
	if counts["index-pattern"] != 1 || counts["dashboard"] != 1 || counts["lens"] == 0 || counts["search"] == 0 {
		c.errorf("object counts %v: want one data view, one dashboard, Lens visualizations and saved searches", counts)
	}
	// Redaction: env values are never charted or shown.
	for _, m := range []map[string][]string{c.charted, c.shown} {
		for id, fields := range m {
			for _, f := range fields {
				if f == "nri_value_value" {
					c.errorf("%s uses nri_value_value: env values must stay out of the dashboard", id)
				}
			}
		}
	}
}

func (c *checker) checkDataView(o savedObject) {
	var a struct {
		Title         string `json:"title"`
		Name          string `json:"name"`
		TimeFieldName string `json:"timeFieldName"`
	}
	if err := strictDecode(o.Attributes, &a); err != nil {
		c.errorf("%s: attributes: %v", o.key(), err)
		return
	}
	if o.ID != efk.DataViewID || a.Title != efk.DataViewTitle || a.Name == "" {
		c.errorf("%s: id/title/name = %q/%q/%q", o.key(), o.ID, a.Title, a.Name)
	}
	if typ, ok := c.m.Explicit(a.TimeFieldName); !ok || (typ != "date" && typ != "date_nanos") {
		c.errorf("%s: time field %q is %q in the template, want date or date_nanos", o.key(), a.TimeFieldName, typ)
	}
	// Each pattern of the title is exactly one of the templates'.
	for _, p := range strings.Split(a.Title, ",") {
		found := false
		for _, tp := range c.patterns {
			found = found || p == tp
		}
		if !found {
			c.errorf("%s: title pattern %q matches no index template %v: its documents would have no mappings", o.key(), p, c.patterns)
		}
	}
}

func (c *checker) checkLens(o savedObject) {
	var a lensAttrs
	if err := strictDecode(o.Attributes, &a); err != nil {
		c.errorf("%s: attributes: %v", o.key(), err)
		return
	}
	if a.Title == "" || a.Description == "" {
		c.errorf("%s: title and description are required", o.key())
	}
	var st lensState
	if err := strictDecode(a.State, &st); err != nil {
		c.errorf("%s: state: %v", o.key(), err)
		return
	}
	c.queries[o.ID] = st.Query.Query
	c.checkKQL(o.key(), st.Query)
	layers := st.DatasourceStates.FormBased.Layers
	if len(layers) != 1 {
		c.errorf("%s: %d formBased layers, want 1", o.key(), len(layers))
	}
	for layerID, layer := range layers {
		// The layer's data view reference, by the name Lens looks up.
		refName := "indexpattern-datasource-layer-" + layerID
		found := false
		for _, r := range o.References {
			found = found || (r.Name == refName && r.Type == "index-pattern" && r.ID == efk.DataViewID)
		}
		if !found {
			c.errorf("%s: no reference %s to index-pattern/%s", o.key(), refName, efk.DataViewID)
		}
		if len(layer.ColumnOrder) != len(layer.Columns) {
			c.errorf("%s: columnOrder %v does not list exactly the %d columns", o.key(), layer.ColumnOrder, len(layer.Columns))
		}
		seenMetric := false
		for _, id := range layer.ColumnOrder {
			col, ok := layer.Columns[id]
			if !ok {
				c.errorf("%s: columnOrder names unknown column %q", o.key(), id)
				continue
			}
			if col.IsBucketed && seenMetric {
				c.errorf("%s: bucket column %q after a metric (Lens orders buckets first)", o.key(), id)
			}
			seenMetric = seenMetric || !col.IsBucketed
			c.checkColumn(o.key(), id, col, layer.Columns)
			if col.SourceField != "___records___" {
				c.charted[o.ID] = append(c.charted[o.ID], col.SourceField)
			}
		}
		c.checkVisualization(o.key(), a.VisualizationType, st.Visualization, layerID, layer.Columns)
	}
}

func (c *checker) checkColumn(where, id string, col lensColumn, cols map[string]lensColumn) {
	want, known := map[string]struct {
		bucketed        bool
		dataType, scale string
		fieldTypes      []string
	}{
		"date_histogram": {true, "date", "interval", []string{"date", "date_nanos"}},
		"terms":          {true, "string", "ordinal", []string{"keyword"}},
		"count":          {false, "number", "ratio", nil},
		"unique_count":   {false, "number", "ratio", []string{"keyword"}},
	}[col.OperationType]
	if !known {
		c.errorf("%s column %s: operation %q is not one the checks know", where, id, col.OperationType)
		return
	}
	if col.IsBucketed != want.bucketed || col.DataType != want.dataType || col.Scale != want.scale || col.Label == "" {
		c.errorf("%s column %s: %+v, want bucketed=%v dataType=%s scale=%s and a label", where, id, col, want.bucketed, want.dataType, want.scale)
	}
	if col.OperationType == "count" {
		if col.SourceField != "___records___" {
			c.errorf("%s column %s: count of %q, want ___records___", where, id, col.SourceField)
		}
		return
	}
	// Charted fields must be mapped explicitly: a dynamic template maps a
	// field only once a document has it, and its type is not reviewed.
	typ, ok := c.m.Explicit(col.SourceField)
	if !ok {
		c.errorf("%s column %s: field %q is not explicitly mapped by the index template", where, id, col.SourceField)
		return
	}
	okType := false
	for _, ft := range want.fieldTypes {
		okType = okType || typ == ft
	}
	if !okType {
		c.errorf("%s column %s: %s on the %s field %s", where, id, col.OperationType, typ, col.SourceField)
	}
	if col.OperationType == "terms" {
		p := col.Params
		if p.Size <= 0 || p.OrderBy == nil || p.OrderBy.Type != "column" || p.OrderDirection != "desc" {
			c.errorf("%s column %s: terms params %+v", where, id, p)
		} else if oc, ok := cols[p.OrderBy.ColumnID]; !ok || oc.IsBucketed {
			c.errorf("%s column %s: ordered by %q, not a metric column of the layer", where, id, p.OrderBy.ColumnID)
		}
	}
}

// checkVisualization checks the accessors of the visualization name
// existing columns of the right kind, and every column is shown.
func (c *checker) checkVisualization(where, visType string, vis map[string]any, layerID string, cols map[string]lensColumn) {
	isCol := func(id any, bucketed bool) bool {
		s, ok := id.(string)
		col, found := cols[s]
		return ok && found && col.IsBucketed == bucketed
	}
	switch visType {
	case "lnsMetric":
		if vis["layerId"] != layerID || vis["layerType"] != "data" || !isCol(vis["metricAccessor"], false) || len(cols) != 1 {
			c.errorf("%s: metric visualization %v", where, vis)
		}
	case "lnsHeatmap":
		if vis["layerId"] != layerID || vis["shape"] != "heatmap" || !isCol(vis["xAccessor"], true) ||
			!isCol(vis["yAccessor"], true) || !isCol(vis["valueAccessor"], false) || len(cols) != 3 {
			c.errorf("%s: heatmap visualization %v", where, vis)
		}
	case "lnsXY":
		layers, _ := vis["layers"].([]any)
		if len(layers) != 1 {
			c.errorf("%s: XY layers %v", where, vis["layers"])
			return
		}
		l, _ := layers[0].(map[string]any)
		series := map[string]bool{"bar": true, "bar_stacked": true, "bar_horizontal": true, "bar_horizontal_stacked": true,
			"line": true, "area": true, "area_stacked": true}
		s, _ := l["seriesType"].(string)
		if l["layerId"] != layerID || l["layerType"] != "data" || !series[s] || vis["preferredSeriesType"] != s || !isCol(l["xAccessor"], true) {
			c.errorf("%s: XY layer %v", where, l)
		}
		n := 1
		if sa, ok := l["splitAccessor"]; ok {
			n++
			if !isCol(sa, true) {
				c.errorf("%s: splitAccessor %v is not a bucket column", where, sa)
			}
		}
		acc, _ := l["accessors"].([]any)
		if len(acc) == 0 {
			c.errorf("%s: no accessors", where)
		}
		for _, a := range acc {
			if !isCol(a, false) {
				c.errorf("%s: accessor %v is not a metric column", where, a)
			}
		}
		if n += len(acc); n != len(cols) {
			c.errorf("%s: %d columns, the chart shows %d", where, len(cols), n)
		}
	default:
		c.errorf("%s: visualization type %q is not one the checks know", where, visType)
	}
}

func (c *checker) checkSearch(o savedObject) {
	var a struct {
		Title                 string     `json:"title"`
		Description           string     `json:"description"`
		Columns               []string   `json:"columns"`
		Sort                  [][]string `json:"sort"`
		Grid                  any        `json:"grid"`
		HideChart             bool       `json:"hideChart"`
		KibanaSavedObjectMeta struct {
			SearchSourceJSON string `json:"searchSourceJSON"`
		} `json:"kibanaSavedObjectMeta"`
	}
	if err := strictDecode(o.Attributes, &a); err != nil {
		c.errorf("%s: attributes: %v", o.key(), err)
		return
	}
	if a.Title == "" || len(a.Columns) == 0 {
		c.errorf("%s: title and columns are required", o.key())
	}
	for _, col := range a.Columns {
		if _, _, ok := c.m.Resolve(col); !ok {
			c.errorf("%s: column %s is not mapped by the index template", o.key(), col)
		}
	}
	c.shown[o.ID] = a.Columns
	for _, s := range a.Sort {
		if len(s) != 2 || (s[1] != "asc" && s[1] != "desc") {
			c.errorf("%s: sort %v", o.key(), s)
			continue
		}
		if typ, ok := c.m.Explicit(s[0]); !ok || (typ != "date" && typ != "date_nanos" && typ != "keyword") {
			c.errorf("%s: sort on %s (%q), not a sortable explicitly mapped field", o.key(), s[0], typ)
		}
	}
	var ss struct {
		Query        kql    `json:"query"`
		Filter       []any  `json:"filter"`
		IndexRefName string `json:"indexRefName"`
		HighlightAll bool   `json:"highlightAll"`
		Version      bool   `json:"version"`
	}
	if err := strictDecode([]byte(a.KibanaSavedObjectMeta.SearchSourceJSON), &ss); err != nil {
		c.errorf("%s: searchSourceJSON: %v", o.key(), err)
		return
	}
	c.queries[o.ID] = ss.Query.Query
	c.checkKQL(o.key(), ss.Query)
	found := false
	for _, r := range o.References {
		found = found || (r.Name == ss.IndexRefName && r.Type == "index-pattern" && r.ID == efk.DataViewID)
	}
	if !found {
		c.errorf("%s: indexRefName %q has no index-pattern reference", o.key(), ss.IndexRefName)
	}
}

func (c *checker) dashboardPanels(o savedObject) ([]dashPanel, map[string]string) {
	var a struct {
		Title           string `json:"title"`
		Description     string `json:"description"`
		PanelsJSON      string `json:"panelsJSON"`
		OptionsJSON     string `json:"optionsJSON"`
		TimeRestore     bool   `json:"timeRestore"`
		TimeFrom        string `json:"timeFrom"`
		TimeTo          string `json:"timeTo"`
		RefreshInterval struct {
			Pause bool `json:"pause"`
			Value int  `json:"value"`
		} `json:"refreshInterval"`
		KibanaSavedObjectMeta struct {
			SearchSourceJSON string `json:"searchSourceJSON"`
		} `json:"kibanaSavedObjectMeta"`
	}
	if err := strictDecode(o.Attributes, &a); err != nil {
		c.errorf("%s: attributes: %v", o.key(), err)
		return nil, nil
	}
	if a.Title == "" || (a.TimeRestore && (a.TimeFrom == "" || a.TimeTo == "")) {
		c.errorf("%s: title %q, time %q..%q", o.key(), a.Title, a.TimeFrom, a.TimeTo)
	}
	var opts map[string]any
	if err := json.Unmarshal([]byte(a.OptionsJSON), &opts); err != nil {
		c.errorf("%s: optionsJSON: %v", o.key(), err)
	}
	var ss struct {
		Query  kql   `json:"query"`
		Filter []any `json:"filter"`
	}
	if err := strictDecode([]byte(a.KibanaSavedObjectMeta.SearchSourceJSON), &ss); err != nil {
		c.errorf("%s: searchSourceJSON: %v", o.key(), err)
	}
	var panels []dashPanel
	dec := json.NewDecoder(strings.NewReader(a.PanelsJSON))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&panels); err != nil {
		c.errorf("%s: panelsJSON: %v", o.key(), err)
		return nil, nil
	}
	refs := map[string]string{} // reference name → type/id
	for _, r := range o.References {
		refs[r.Name] = r.Type + "/" + r.ID
	}
	return panels, refs
}

func (c *checker) checkDashboard(o savedObject, byKey map[string]savedObject) {
	panels, refs := c.dashboardPanels(o)
	if len(panels) == 0 {
		c.errorf("%s: no panels", o.key())
		return
	}
	type cell struct{ x, y int }
	taken := map[cell]string{}
	seen := map[string]bool{}
	for _, p := range panels {
		g := p.GridData
		if p.PanelIndex == "" || g.I != p.PanelIndex || seen[p.PanelIndex] {
			c.errorf("%s: panel index %q (gridData.i %q) missing, mismatched or repeated", o.key(), p.PanelIndex, g.I)
		}
		seen[p.PanelIndex] = true
		if g.X < 0 || g.Y < 0 || g.W <= 0 || g.H <= 0 || g.X+g.W > 48 {
			c.errorf("%s: panel %s outside the 48-column grid: %+v", o.key(), p.PanelIndex, g)
		}
	overlap:
		for x := g.X; x < g.X+g.W; x++ {
			for y := g.Y; y < g.Y+g.H; y++ {
				if other, ok := taken[cell{x, y}]; ok {
					c.errorf("%s: panels %s and %s overlap at %d,%d", o.key(), other, p.PanelIndex, x, y)
					break overlap
				}
				taken[cell{x, y}] = p.PanelIndex
			}
		}
		// 8.x reference naming: "<panelIndex>:<panelRefName>".
		target, ok := refs[p.PanelIndex+":"+p.PanelRefName]
		if p.PanelRefName == "" || !ok {
			c.errorf("%s: panel %s has no reference %s:%s", o.key(), p.PanelIndex, p.PanelIndex, p.PanelRefName)
			continue
		}
		if !strings.HasPrefix(target, p.Type+"/") {
			c.errorf("%s: panel %s of type %s references %s", o.key(), p.PanelIndex, p.Type, target)
		}
	}
	if len(refs) != len(panels) {
		c.errorf("%s: %d references for %d panels", o.key(), len(refs), len(panels))
	}
	// Every visualization and search of the file is on the dashboard.
	onBoard := map[string]bool{}
	for _, v := range refs {
		onBoard[v] = true
	}
	for k, obj := range byKey {
		if (obj.Type == "lens" || obj.Type == "search") && !onBoard[k] {
			c.errorf("%s is not on the dashboard", k)
		}
	}
}

// questions are what the dashboard must answer (issue 6), each with a test
// of a panel's content.
func (c *checker) questions() []struct {
	question string
	match    func(o savedObject) bool
} {
	has := func(id string, fields ...string) bool {
		got := append(append([]string(nil), c.charted[id]...), c.shown[id]...)
		for _, f := range fields {
			found := false
			for _, g := range got {
				found = found || g == f
			}
			if !found {
				return false
			}
		}
		return true
	}
	injected := func(q string) bool {
		for _, ev := range []string{"AddProcessEnv", "AddMount", "AddLinuxDevice", "AddOCIHook", "InjectCDIDevices"} {
			if !strings.Contains(q, ev) {
				return false
			}
		}
		return true
	}
	return []struct {
		question string
		match    func(o savedObject) bool
	}{
		{"adjustments over time by plugin", func(o savedObject) bool {
			return o.Type == "lens" && has(o.ID, "@timestamp", "nri_plugin_name")
		}},
		{"which plugins changed which fields", func(o savedObject) bool {
			return o.Type == "lens" && has(o.ID, "nri_plugin_name", "nri_field")
		}},
		{"most adjusted containers", func(o savedObject) bool { return o.Type == "lens" && has(o.ID, "nri_container_name") }},
		{"most adjusted pods", func(o savedObject) bool { return o.Type == "lens" && has(o.ID, "nri_pod_name") }},
		{"most adjusted nodes", func(o savedObject) bool { return o.Type == "lens" && has(o.ID, "_HOSTNAME") }},
		{"env/mount/device/hook/CDI injections by plugin", func(o savedObject) bool {
			return o.Type == "lens" && has(o.ID, "nri_event", "nri_plugin_name") && injected(c.queries[o.ID])
		}},
		{"what was injected (names and paths; values redacted)", func(o savedObject) bool {
			return o.Type == "search" && has(o.ID, "nri_value_name", "nri_value_destination", "nri_value_path") && injected(c.queries[o.ID])
		}},
		{"errors by plugin", func(o savedObject) bool { return o.Type == "lens" && has(o.ID, "nri_error_plugin") }},
		{"latest audit events", func(o savedObject) bool {
			return o.Type == "search" && has(o.ID, "nri_event", "nri_plugin", "_HOSTNAME") && strings.Contains(c.queries[o.ID], "nri_event:*")
		}},
	}
}

// answers maps each question to the dashboard panels that answer it.
func (c *checker) answers(objs []savedObject) map[string][]string {
	byKey := map[string]savedObject{}
	for _, o := range objs {
		byKey[o.key()] = o
	}
	out := map[string][]string{}
	dash, ok := byKey["dashboard/"+efk.DashboardID]
	if !ok {
		c.errorf("no dashboard %s", efk.DashboardID)
		return out
	}
	panels, refs := c.dashboardPanels(dash)
	var onBoard []savedObject
	for _, p := range panels {
		onBoard = append(onBoard, byKey[refs[p.PanelIndex+":"+p.PanelRefName]])
	}
	for _, q := range c.questions() {
		out[q.question] = nil
		for _, o := range onBoard {
			if q.match(o) {
				out[q.question] = append(out[q.question], o.ID)
			}
		}
	}
	return out
}

func TestSavedObjects(t *testing.T) {
	c := newChecker(t)
	c.checkAll(loadSavedObjects(t))
	for _, e := range c.errs {
		t.Error(e)
	}
}

func TestDashboardAnswersQuestions(t *testing.T) {
	c := newChecker(t)
	objs := loadSavedObjects(t)
	c.checkAll(objs)
	ans := c.answers(objs)
	for _, q := range c.questions() {
		ids := ans[q.question]
		if len(ids) == 0 {
			t.Errorf("no dashboard panel answers %q", q.question)
			continue
		}
		sort.Strings(ids)
		t.Logf("%-52s %s", q.question, strings.Join(ids, ", "))
	}
}

// TestSavedObjectChecksCatchMistakes breaks the generated objects in the
// ways that matter and requires the checks to say so.
func TestSavedObjectChecksCatchMistakes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(objs []obj)
		want   string
	}{
		{"charted field only dynamically mapped", func(objs []obj) {
			lensColumnOf(objs, "nri-audit-lens-top-containers", "container")["sourceField"] = "nri_value_name"
		}, `field "nri_value_name" is not explicitly mapped`},
		{"terms on a date", func(objs []obj) {
			lensColumnOf(objs, "nri-audit-lens-top-containers", "container")["sourceField"] = "@timestamp"
		}, "terms on the date_nanos field @timestamp"},
		{"dangling reference", func(objs []obj) {
			objectByID(objs, "nri-audit-lens-top-pods")["references"] = []any{obj{"type": "index-pattern", "id": "gone", "name": "indexpattern-datasource-layer-layer1"}}
		}, "index-pattern/gone is not in the file"},
		{"event name typo", func(objs []obj) {
			stateOf(objs, "nri-audit-lens-injections")["query"] = obj{"query": "nri_event:(AddMounts or AddProcessEnv)", "language": "kuery"}
		}, `event "AddMounts", which is not in the audit catalog`},
		{"unmapped query field", func(objs []obj) {
			stateOf(objs, "nri-audit-lens-errors-total")["query"] = obj{"query": "errorPlugin:*", "language": "kuery"}
		}, "uses errorPlugin, which the index template does not map"},
		{"env values shown", func(objs []obj) {
			a := objectByID(objs, "nri-audit-search-injections")["attributes"].(obj)
			a["columns"] = append(a["columns"].([]string), "nri_value_value")
		}, "uses nri_value_value"},
		{"data view outside the templates", func(objs []obj) {
			objectByID(objs, efk.DataViewID)["attributes"].(obj)["title"] = "nri-*"
		}, "id/title/name"},
		{"overlapping panels", func(objs []obj) {
			editPanels(objs, func(panels []map[string]any) { panels[1]["gridData"].(map[string]any)["x"] = 8.0 })
		}, "overlap"},
		{"panel without reference", func(objs []obj) {
			editPanels(objs, func(panels []map[string]any) { panels[0]["panelRefName"] = "panel_x" })
		}, "has no reference p1:panel_x"},
		{"accessor to a missing column", func(objs []obj) {
			stateOf(objs, "nri-audit-lens-plugin-field")["visualization"].(obj)["valueAccessor"] = "nope"
		}, "heatmap visualization"},
		{"question left unanswered", func(objs []obj) {
			lensColumnOf(objs, "nri-audit-lens-errors-by-plugin", "plugin")["sourceField"] = "nri_plugin_name"
		}, `unanswered: "errors by plugin"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs := buildObjects()
			tc.mutate(objs)
			var buf bytes.Buffer
			for _, o := range objs {
				b, err := json.Marshal(o)
				if err != nil {
					t.Fatal(err)
				}
				buf.Write(append(b, '\n'))
			}
			parsed, err := parseSavedObjects("mutated.ndjson", buf.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			c := newChecker(t)
			c.checkAll(parsed)
			for q, ids := range c.answers(parsed) {
				if len(ids) == 0 {
					c.errorf("unanswered: %q", q)
				}
			}
			all := strings.Join(c.errs, "\n")
			if !strings.Contains(all, tc.want) {
				t.Errorf("checks missed the mistake; want %q in:\n%s", tc.want, all)
			}
		})
	}
}

func objectByID(objs []obj, id string) obj {
	for _, o := range objs {
		if o["id"] == id {
			return o
		}
	}
	panic("no object " + id)
}

func stateOf(objs []obj, id string) obj {
	return objectByID(objs, id)["attributes"].(obj)["state"].(obj)
}

func lensColumnOf(objs []obj, id, col string) obj {
	layers := stateOf(objs, id)["datasourceStates"].(obj)["formBased"].(obj)["layers"].(obj)
	return layers[layerID].(obj)["columns"].(obj)[col].(obj)
}

func editPanels(objs []obj, edit func([]map[string]any)) {
	a := objectByID(objs, efk.DashboardID)["attributes"].(obj)
	var panels []map[string]any
	if err := json.Unmarshal([]byte(a["panelsJSON"].(string)), &panels); err != nil {
		panic(err)
	}
	edit(panels)
	b, err := json.Marshal(panels)
	if err != nil {
		panic(err)
	}
	a["panelsJSON"] = string(b)
}

// TestSavedObjectsImportIntoFakeKibana imports the embedded export the way
// `nri-audit setup --dashboards` does, into a fake Kibana that resolves
// references like Kibana.
func TestSavedObjectsImportIntoFakeKibana(t *testing.T) {
	srv := kibanatest.NewServer(t)
	c, err := kibana.New(kibana.Config{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	files, err := efk.KibanaSavedObjects()
	if err != nil {
		t.Fatal(err)
	}
	want := len(loadSavedObjects(t))
	for _, f := range files {
		res, err := c.Import(context.Background(), f.Name, f.Body, kibana.ImportOptions{Overwrite: true})
		if err != nil {
			t.Fatalf("import %s: %v", f.Name, err)
		}
		if res.SuccessCount != want {
			t.Errorf("imported %d objects, want %d", res.SuccessCount, want)
		}
	}
	if _, ok := srv.Stored("", "dashboard", efk.DashboardID); !ok {
		t.Error("dashboard not stored")
	}
}
