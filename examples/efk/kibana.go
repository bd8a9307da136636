package efk

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

//go:embed kibana/*.ndjson
var kibanaFiles embed.FS

// Stable ids of the Kibana saved objects: dashboards and visualizations
// reference the data view by id, and re-imports overwrite by id.
const (
	// DataViewID is the data view (index pattern) every object uses.
	DataViewID = "nri-audit"
	// DataViewTitle is its index pattern: the date-pattern indices and the
	// data streams.
	DataViewTitle = IndexPattern + "," + DataStreamPattern
	// DashboardID is the overview dashboard.
	DashboardID = "nri-audit-overview"
)

// KibanaFile is one NDJSON export of saved objects, ready for Kibana's
// POST /api/saved_objects/_import.
type KibanaFile struct {
	Name string // e.g. "nri-audit.ndjson"
	Body []byte
}

// KibanaSavedObjects returns the embedded exports, by name.
func KibanaSavedObjects() ([]KibanaFile, error) {
	names, err := fs.Glob(kibanaFiles, "kibana/*.ndjson")
	if err != nil {
		return nil, fmt.Errorf("efk: kibana objects: %w", err)
	}
	sort.Strings(names)
	out := make([]KibanaFile, 0, len(names))
	for _, n := range names {
		b, err := kibanaFiles.ReadFile(n)
		if err != nil {
			return nil, fmt.Errorf("efk: %s: %w", n, err)
		}
		out = append(out, KibanaFile{Name: path.Base(n), Body: b})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("efk: no Kibana saved objects embedded")
	}
	return out, nil
}

// WithDataViewPattern returns body with the index pattern (title) of the
// data view DataViewID replaced by pattern, e.g. the one data stream setup
// prepared. Other lines are kept byte for byte. An empty pattern returns
// body unchanged.
func WithDataViewPattern(body []byte, pattern string) ([]byte, error) {
	pattern = strings.TrimSpace(pattern)
	if pattern == "" {
		return body, nil
	}
	if strings.ContainsAny(pattern, " \"\\") {
		return nil, fmt.Errorf("efk: data view pattern %q: not an index pattern", pattern)
	}
	var out bytes.Buffer
	found := false
	for _, line := range bytes.SplitAfter(body, []byte("\n")) {
		trimmed := bytes.TrimSpace(line)
		if len(trimmed) == 0 {
			out.Write(line)
			continue
		}
		var o map[string]json.RawMessage
		if err := json.Unmarshal(trimmed, &o); err != nil {
			return nil, fmt.Errorf("efk: saved objects: %w", err)
		}
		var typ, id string
		_ = json.Unmarshal(o["type"], &typ)
		_ = json.Unmarshal(o["id"], &id)
		if typ != "index-pattern" || id != DataViewID {
			out.Write(line)
			continue
		}
		var attrs map[string]json.RawMessage
		if err := json.Unmarshal(o["attributes"], &attrs); err != nil {
			return nil, fmt.Errorf("efk: data view %s: attributes: %w", id, err)
		}
		t, _ := json.Marshal(pattern)
		attrs["title"] = t
		a, err := json.Marshal(attrs)
		if err != nil {
			return nil, fmt.Errorf("efk: data view %s: %w", id, err)
		}
		o["attributes"] = a
		b, err := json.Marshal(o)
		if err != nil {
			return nil, fmt.Errorf("efk: data view %s: %w", id, err)
		}
		out.Write(b)
		out.WriteByte('\n')
		found = true
	}
	if !found {
		return nil, fmt.Errorf("efk: saved objects: no data view %s", DataViewID)
	}
	return out.Bytes(), nil
}
