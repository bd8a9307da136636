package efk_test

// The Kibana saved objects in kibana/nri-audit.ndjson are generated from
// the spec below, so the stringified JSON Kibana wants (panelsJSON,
// searchSourceJSON) is always well-formed and reviewable here. After a
// change:
//
//	go test ./examples/efk -run TestKibanaObjectsUpToDate -update

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nri-audit/nri-audit/examples/efk"
)

var update = flag.Bool("update", false, "rewrite kibana/nri-audit.ndjson from the spec")

// Versions of the saved-object shapes below: the migrations Kibana has
// already applied to them. Kibana 8.9+ imports them and migrates them to
// its own version; the demo pins 8.19.
const (
	coreMigrationVersion = "8.8.0"
	lensVersion          = "8.9.0" // formBased datasource, partition "metrics" arrays
	dashboardVersion     = "8.7.0" // panelsJSON with panelRefName references
	searchVersion        = "8.0.0"
	dataViewVersion      = "8.0.0"
	panelVersion         = "8.8.0"
)

// KQL of the panels.
const (
	// A change made by a plugin: an audit event with a named owner (owner
	// "unknown" lines echo pre-existing state).
	qAdjustments = "nri_event:* and nri_plugin_name:*"
	qInjections  = "nri_event:(AddProcessEnv or AddMount or AddLinuxDevice or AddOCIHook or InjectCDIDevices) and nri_plugin_name:*"
	qErrors      = "nri_error_plugin:*"
	qLatest      = "nri_event:* or nri_error_plugin:*"
)

const layerID = "layer1"

type obj = map[string]any

type column struct {
	id, label, op, field string
	size                 int    // terms
	orderBy              string // terms: column id to order by
}

func (c column) bucketed() bool { return c.op == "terms" || c.op == "date_histogram" }

func (c column) json() obj {
	o := obj{"label": c.label, "customLabel": true, "operationType": c.op, "isBucketed": c.bucketed()}
	switch c.op {
	case "date_histogram":
		o["dataType"], o["scale"], o["sourceField"] = "date", "interval", c.field
		o["params"] = obj{"interval": "auto", "includeEmptyRows": true, "dropPartials": false}
	case "terms":
		o["dataType"], o["scale"], o["sourceField"] = "string", "ordinal", c.field
		o["params"] = obj{
			"size": c.size, "orderBy": obj{"type": "column", "columnId": c.orderBy}, "orderDirection": "desc",
			"otherBucket": true, "missingBucket": false, "parentFormat": obj{"id": "terms"},
		}
	case "count":
		o["dataType"], o["scale"], o["sourceField"] = "number", "ratio", "___records___"
		o["params"] = obj{"emptyAsNull": false}
	case "unique_count":
		o["dataType"], o["scale"], o["sourceField"] = "number", "ratio", c.field
		o["params"] = obj{"emptyAsNull": false}
	default:
		panic("unknown operation " + c.op)
	}
	return o
}

func count(label string) column { return column{id: "count", label: label, op: "count"} }

func terms(id, label, field string, size int) column {
	return column{id: id, label: label, op: "terms", field: field, size: size, orderBy: "count"}
}

func timeColumn() column {
	return column{id: "time", label: "@timestamp", op: "date_histogram", field: "@timestamp"}
}

type lensSpec struct {
	id, title, description string
	visType                string
	query                  string
	columns                []column // buckets first, as Lens orders them
	visualization          obj
}

func (l lensSpec) object() obj {
	cols := obj{}
	var order []string
	for _, c := range l.columns {
		cols[c.id] = c.json()
		order = append(order, c.id)
	}
	vis := l.visualization
	return obj{
		"type": "lens", "id": l.id,
		"coreMigrationVersion": coreMigrationVersion, "typeMigrationVersion": lensVersion,
		"attributes": obj{
			"title": l.title, "description": l.description, "visualizationType": l.visType,
			"state": obj{
				"datasourceStates": obj{"formBased": obj{"layers": obj{
					layerID: obj{"columns": cols, "columnOrder": order, "incompleteColumns": obj{}},
				}}},
				"visualization":      vis,
				"query":              obj{"query": l.query, "language": "kuery"},
				"filters":            []any{},
				"internalReferences": []any{},
				"adHocDataViews":     obj{},
			},
		},
		"references": []any{obj{"type": "index-pattern", "id": efk.DataViewID, "name": "indexpattern-datasource-layer-" + layerID}},
	}
}

func metricVis(accessor string) obj {
	return obj{"layerId": layerID, "layerType": "data", "metricAccessor": accessor}
}

func xyVis(series, x, split string, legend bool) obj {
	layer := obj{"layerId": layerID, "layerType": "data", "seriesType": series, "xAccessor": x, "accessors": []any{"count"}}
	if split != "" {
		layer["splitAccessor"] = split
	}
	return obj{
		"preferredSeriesType":          series,
		"legend":                       obj{"isVisible": legend, "position": "right", "showSingleSeries": false},
		"valueLabels":                  "hide",
		"fittingFunction":              "None",
		"axisTitlesVisibilitySettings": obj{"x": false, "yLeft": true, "yRight": true},
		"layers":                       []any{layer},
	}
}

func heatmapVis(x, y string) obj {
	return obj{
		"shape": "heatmap", "layerId": layerID, "layerType": "data",
		"xAccessor": x, "yAccessor": y, "valueAccessor": "count",
		"legend": obj{"isVisible": true, "position": "right", "type": "heatmap_legend"},
		"gridConfig": obj{
			"type": "heatmap_grid", "isCellLabelVisible": true,
			"isYAxisLabelVisible": true, "isXAxisLabelVisible": true,
			"isYAxisTitleVisible": true, "isXAxisTitleVisible": true,
		},
	}
}

func lensObjects() []lensSpec {
	return []lensSpec{
		{
			id: "nri-audit-lens-adjustments", title: "NRI adjustments",
			description: "Container changes made by NRI plugins (audit events with a named plugin)",
			visType:     "lnsMetric", query: qAdjustments,
			columns:       []column{count("Adjustments")},
			visualization: metricVis("count"),
		},
		{
			id: "nri-audit-lens-active-plugins", title: "Plugins making changes",
			description: "Distinct NRI plugins that adjusted containers",
			visType:     "lnsMetric", query: qAdjustments,
			columns:       []column{{id: "plugins", label: "Plugins", op: "unique_count", field: "nri_plugin_name"}},
			visualization: metricVis("plugins"),
		},
		{
			id: "nri-audit-lens-errors-total", title: "Plugin errors",
			description: "Runtime error lines that name the plugin that caused them",
			visType:     "lnsMetric", query: qErrors,
			columns:       []column{count("Errors")},
			visualization: metricVis("count"),
		},
		{
			id: "nri-audit-lens-adjustments-over-time", title: "Adjustments over time by plugin",
			description: "Which NRI plugin changed containers, and when",
			visType:     "lnsXY", query: qAdjustments,
			columns:       []column{timeColumn(), terms("plugin", "Plugin", "nri_plugin_name", 10), count("Adjustments")},
			visualization: xyVis("bar_stacked", "time", "plugin", true),
		},
		{
			id: "nri-audit-lens-plugin-field", title: "Which plugins changed which fields",
			description: "Adjustments by plugin and NRI API field (Env, Mounts, Devices, Hooks, ...)",
			visType:     "lnsHeatmap", query: qAdjustments,
			columns:       []column{terms("field", "Field", "nri_field", 25), terms("plugin", "Plugin", "nri_plugin_name", 15), count("Adjustments")},
			visualization: heatmapVis("field", "plugin"),
		},
		{
			id: "nri-audit-lens-top-containers", title: "Most adjusted containers",
			description: "Containers with the most plugin changes",
			visType:     "lnsXY", query: qAdjustments,
			columns:       []column{terms("container", "Container", "nri_container_name", 10), count("Adjustments")},
			visualization: xyVis("bar_horizontal", "container", "", false),
		},
		{
			id: "nri-audit-lens-top-pods", title: "Most adjusted pods",
			description: "Pods with the most plugin changes, by namespace",
			visType:     "lnsXY", query: qAdjustments,
			columns:       []column{terms("pod", "Pod", "nri_pod_name", 10), terms("namespace", "Namespace", "nri_pod_namespace", 5), count("Adjustments")},
			visualization: xyVis("bar_horizontal_stacked", "pod", "namespace", true),
		},
		{
			id: "nri-audit-lens-top-nodes", title: "Most adjusted nodes",
			description: "Nodes with the most plugin changes, by container runtime",
			visType:     "lnsXY", query: qAdjustments,
			columns:       []column{terms("node", "Node", "_HOSTNAME", 10), terms("runtime", "Runtime / source", "nri_runtime", 4), count("Adjustments")},
			visualization: xyVis("bar_horizontal_stacked", "node", "runtime", true),
		},
		{
			id: "nri-audit-lens-injections", title: "Env, mount, device, hook and CDI injections",
			description: "What plugins injected into containers, by kind (values are redacted; see the injections table)",
			visType:     "lnsXY", query: qInjections,
			columns:       []column{terms("event", "Injection", "nri_event", 5), terms("plugin", "Plugin", "nri_plugin_name", 10), count("Injections")},
			visualization: xyVis("bar_horizontal_stacked", "event", "plugin", true),
		},
		{
			id: "nri-audit-lens-errors-by-plugin", title: "Errors by plugin",
			description: "Runtime errors attributed to an NRI plugin (nri_error_plugin), over time",
			visType:     "lnsXY", query: qErrors,
			columns:       []column{timeColumn(), terms("plugin", "Plugin", "nri_error_plugin", 10), count("Errors")},
			visualization: xyVis("bar_stacked", "time", "plugin", true),
		},
	}
}

type searchSpec struct {
	id, title, description, query string
	columns                       []string
}

func (s searchSpec) object() obj {
	ss, err := json.Marshal(obj{
		"query": obj{"query": s.query, "language": "kuery"}, "filter": []any{},
		"highlightAll": true, "version": true,
		"indexRefName": "kibanaSavedObjectMeta.searchSourceJSON.index",
	})
	if err != nil {
		panic(err)
	}
	return obj{
		"type": "search", "id": s.id,
		"coreMigrationVersion": coreMigrationVersion, "typeMigrationVersion": searchVersion,
		"attributes": obj{
			"title": s.title, "description": s.description,
			"columns": s.columns, "sort": []any{[]any{"@timestamp", "desc"}},
			"grid": obj{}, "hideChart": false,
			"kibanaSavedObjectMeta": obj{"searchSourceJSON": string(ss)},
		},
		"references": []any{obj{"type": "index-pattern", "id": efk.DataViewID, "name": "kibanaSavedObjectMeta.searchSourceJSON.index"}},
	}
}

func searchObjects() []searchSpec {
	return []searchSpec{
		{
			id: "nri-audit-search-injections", title: "NRI injections",
			description: "Env variables, mounts, devices, OCI hooks and CDI devices plugins injected; env values are redacted by nri-audit and not shown",
			query:       qInjections,
			columns: []string{"_HOSTNAME", "nri_pod_namespace", "nri_pod_name", "nri_container_name", "nri_plugin", "nri_event",
				"nri_value_name", "nri_value_destination", "nri_value_source", "nri_value_path", "nri_value_type", "nri_value"},
		},
		{
			id: "nri-audit-search-latest", title: "Latest NRI audit events",
			description: "Every NRI audit event and plugin error, newest first",
			query:       qLatest,
			columns: []string{"_HOSTNAME", "nri_runtime", "nri_pod_namespace", "nri_pod_name", "nri_container_name",
				"nri_plugin", "nri_event", "nri_field", "nri_error_plugin", "nri_msg"},
		},
	}
}

type panel struct {
	typ, id    string
	x, y, w, h int
}

func dashboardObject() obj {
	panels := []panel{
		{"lens", "nri-audit-lens-adjustments", 0, 0, 16, 6},
		{"lens", "nri-audit-lens-active-plugins", 16, 0, 16, 6},
		{"lens", "nri-audit-lens-errors-total", 32, 0, 16, 6},
		{"lens", "nri-audit-lens-adjustments-over-time", 0, 6, 28, 15},
		{"lens", "nri-audit-lens-plugin-field", 28, 6, 20, 15},
		{"lens", "nri-audit-lens-top-containers", 0, 21, 16, 13},
		{"lens", "nri-audit-lens-top-pods", 16, 21, 16, 13},
		{"lens", "nri-audit-lens-top-nodes", 32, 21, 16, 13},
		{"lens", "nri-audit-lens-injections", 0, 34, 20, 14},
		{"lens", "nri-audit-lens-errors-by-plugin", 20, 34, 28, 14},
		{"search", "nri-audit-search-injections", 0, 48, 48, 14},
		{"search", "nri-audit-search-latest", 0, 62, 48, 18},
	}
	var pj, refs []any
	for i, p := range panels {
		idx := fmt.Sprintf("p%d", i+1)
		pj = append(pj, obj{
			"version": panelVersion, "type": p.typ, "panelIndex": idx,
			"gridData":         obj{"x": p.x, "y": p.y, "w": p.w, "h": p.h, "i": idx},
			"embeddableConfig": obj{"enhancements": obj{}},
			"panelRefName":     "panel_" + idx,
		})
		refs = append(refs, obj{"type": p.typ, "id": p.id, "name": idx + ":panel_" + idx})
	}
	mustJSON := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			panic(err)
		}
		return string(b)
	}
	return obj{
		"type": "dashboard", "id": efk.DashboardID,
		"coreMigrationVersion": coreMigrationVersion, "typeMigrationVersion": dashboardVersion,
		"attributes": obj{
			"title":       "NRI audit overview",
			"description": "Which NRI plugin changed what, on which container, pod and node, and which plugin caused errors",
			"panelsJSON":  mustJSON(pj),
			"optionsJSON": mustJSON(obj{"useMargins": true, "syncColors": true, "syncCursor": true, "syncTooltips": false, "hidePanelTitles": false}),
			"timeRestore": true, "timeFrom": "now-1h", "timeTo": "now",
			"refreshInterval":       obj{"pause": false, "value": 30000},
			"kibanaSavedObjectMeta": obj{"searchSourceJSON": mustJSON(obj{"query": obj{"query": "", "language": "kuery"}, "filter": []any{}})},
		},
		"references": refs,
	}
}

func dataViewObject() obj {
	return obj{
		"type": "index-pattern", "id": efk.DataViewID,
		"coreMigrationVersion": coreMigrationVersion, "typeMigrationVersion": dataViewVersion,
		"attributes": obj{
			"title": efk.DataViewTitle, "name": "NRI audit events", "timeFieldName": "@timestamp",
		},
		"references": []any{},
	}
}

// generateSavedObjects renders the NDJSON export: data view first, then
// what the dashboard references, then the dashboard (the order of a Kibana
// export).
func buildObjects() []obj {
	objs := []obj{dataViewObject()}
	for _, l := range lensObjects() {
		objs = append(objs, l.object())
	}
	for _, s := range searchObjects() {
		objs = append(objs, s.object())
	}
	objs = append(objs, dashboardObject())
	for _, o := range objs {
		o["managed"] = false
	}
	return objs
}

func generateSavedObjects() []byte {
	var buf bytes.Buffer
	for _, o := range buildObjects() {
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(o); err != nil {
			panic(err)
		}
	}
	return buf.Bytes()
}

func TestKibanaObjectsUpToDate(t *testing.T) {
	path := filepath.Join("kibana", "nri-audit.ndjson")
	want := generateSavedObjects()
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is stale: run go test ./examples/efk -run TestKibanaObjectsUpToDate -update", path)
	}
}

func FuzzWithDataViewPattern(f *testing.F) {
	f.Add(generateSavedObjects(), "logs-nri_audit-prod")
	f.Add([]byte(`{"type":"index-pattern","id":"nri-audit","attributes":{}}`), "x-*")
	f.Add([]byte("not json\n"), "x")
	f.Fuzz(func(t *testing.T, body []byte, pattern string) {
		out, err := efk.WithDataViewPattern(body, pattern)
		if err != nil {
			return
		}
		if n, m := bytes.Count(bytes.TrimSpace(body), []byte("\n")), bytes.Count(bytes.TrimSpace(out), []byte("\n")); strings.TrimSpace(pattern) != "" && n != m {
			t.Fatalf("%d lines became %d", n+1, m+1)
		}
	})
}

func TestWithDataViewPattern(t *testing.T) {
	in := generateSavedObjects()
	out, err := efk.WithDataViewPattern(in, "logs-nri_audit-prod")
	if err != nil {
		t.Fatal(err)
	}
	inLines, outLines := bytes.Split(in, []byte("\n")), bytes.Split(out, []byte("\n"))
	if len(inLines) != len(outLines) {
		t.Fatalf("%d lines became %d", len(inLines), len(outLines))
	}
	changed := 0
	for i := range inLines {
		if !bytes.Equal(inLines[i], outLines[i]) {
			changed++
			if !bytes.Contains(outLines[i], []byte(`"title":"logs-nri_audit-prod"`)) {
				t.Errorf("line %d: %s", i+1, outLines[i])
			}
		}
	}
	if changed != 1 {
		t.Errorf("%d lines changed, want only the data view", changed)
	}
	if same, _ := efk.WithDataViewPattern(in, ""); !bytes.Equal(same, in) {
		t.Error("empty pattern changed the objects")
	}
	for _, bad := range []string{`a"b`, "a b"} {
		if _, err := efk.WithDataViewPattern(in, bad); err == nil {
			t.Errorf("pattern %q accepted", bad)
		}
	}
	if _, err := efk.WithDataViewPattern([]byte(`{"type":"lens","id":"x"}`+"\n"), "x-*"); err == nil {
		t.Error("objects without the data view accepted")
	}
}
