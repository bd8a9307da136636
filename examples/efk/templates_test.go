package efk

import (
	"encoding/json"
	"path"
	"reflect"
	"strings"
	"testing"

	"github.com/nri-audit/nri-audit/esbulk"
)

// assetSets are the asset lists setup installs: index or data stream, each
// with and without the dead-letter template.
func assetSets() map[string]func() ([]Asset, error) {
	withDeadLetter := func(get func() ([]Asset, error)) func() ([]Asset, error) {
		return func() ([]Asset, error) {
			a, err := get()
			if err != nil {
				return nil, err
			}
			dl, err := DeadLetterAssets()
			return append(a, dl...), err
		}
	}
	return map[string]func() ([]Asset, error){
		"index":                    IndexTemplateAssets,
		"data stream":              DataStreamAssets,
		"index, dead letter":       withDeadLetter(IndexTemplateAssets),
		"data stream, dead letter": withDeadLetter(DataStreamAssets),
	}
}

func TestAssetsInstallable(t *testing.T) {
	for name, get := range assetSets() {
		assets, err := get()
		if err != nil {
			t.Fatal(err)
		}
		var opts esbulk.SetupOptions
		seen := map[string]bool{}
		for _, a := range assets {
			opts.Assets = append(opts.Assets, esbulk.Asset{Path: a.Path, Body: a.Body})
			if v, err := esbulk.AssetVersion(esbulk.Asset{Path: a.Path, Body: a.Body}); err != nil || v < 1 {
				t.Errorf("%s: version %d %v", a.File, v, err)
			}
			// Everything an index template refers to comes before it.
			if name, ok := strings.CutPrefix(a.Path, "_index_template/"); ok {
				var tpl struct {
					IndexPatterns []string        `json:"index_patterns"`
					ComposedOf    []string        `json:"composed_of"`
					Priority      int             `json:"priority"`
					DataStream    json.RawMessage `json:"data_stream"`
					Template      struct {
						Settings map[string]any `json:"settings"`
					} `json:"template"`
				}
				if err := json.Unmarshal(a.Body, &tpl); err != nil {
					t.Fatal(err)
				}
				for _, c := range tpl.ComposedOf {
					if !seen["_component_template/"+c] {
						t.Errorf("%s uses %s before it is installed", name, c)
					}
				}
				policy, _ := tpl.Template.Settings["index.lifecycle.name"].(string)
				if name == "nri-audit-dead-letter" {
					// Dead letters never expire with the daily indices.
					if policy != "" {
						t.Errorf("%s has ILM policy %q: it would delete recent dead letters with the index", name, policy)
					}
				} else if !seen["_ilm/policy/"+policy] {
					t.Errorf("%s uses ILM policy %q before it is installed", name, policy)
				}
				if tpl.Priority <= 100 {
					t.Errorf("%s priority %d must beat the built-in logs-*-* (100)", name, tpl.Priority)
				}
				if (tpl.DataStream != nil) != (name == "nri-audit-ds") {
					t.Errorf("%s data_stream %s", name, tpl.DataStream)
				}
				switch name {
				case "nri-audit-ds":
					if ok, _ := path.Match(tpl.IndexPatterns[0], DefaultDataStream); !ok || tpl.IndexPatterns[0] != DataStreamPattern {
						t.Errorf("data stream pattern %v", tpl.IndexPatterns)
					}
				case "nri-audit-dead-letter":
					// It must win over nri-audit for the dead-letter index
					// (Elasticsearch applies the one highest-priority match).
					if !reflect.DeepEqual(tpl.IndexPatterns, []string{DeadLetterIndex}) || tpl.Priority <= 200 {
						t.Errorf("dead-letter template patterns %v priority %d: want [%s] above 200", tpl.IndexPatterns, tpl.Priority, DeadLetterIndex)
					}
					if ok, _ := path.Match(IndexPattern, DeadLetterIndex); !ok {
						t.Errorf("%s no longer matches %s: the dead-letter template is not needed", IndexPattern, DeadLetterIndex)
					}
				default:
					if tpl.IndexPatterns[0] != IndexPattern {
						t.Errorf("index pattern %v", tpl.IndexPatterns)
					}
				}
			}
			seen[a.Path] = true
		}
		if _, err := esbulk.PrepareAssets(opts); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestMappings pins the field types of DESIGN.md §3 in the mappings
// component template.
func TestMappings(t *testing.T) {
	b, err := templateFiles.ReadFile("templates/component-nri-audit-mappings.json")
	if err != nil {
		t.Fatal(err)
	}
	var ct struct {
		Template struct {
			Mappings struct {
				DynamicTemplates []map[string]struct {
					Match            string         `json:"match"`
					MatchMappingType string         `json:"match_mapping_type"`
					Mapping          map[string]any `json:"mapping"`
				} `json:"dynamic_templates"`
				Properties map[string]struct {
					Type        string                    `json:"type"`
					IgnoreAbove int                       `json:"ignore_above"`
					Fields      map[string]map[string]any `json:"fields"`
				} `json:"properties"`
			} `json:"mappings"`
		} `json:"template"`
	}
	if err := json.Unmarshal(b, &ct); err != nil {
		t.Fatal(err)
	}
	props := ct.Template.Mappings.Properties
	if props["@timestamp"].Type != "date_nanos" || props["nri_removal"].Type != "boolean" {
		t.Errorf("@timestamp %+v, nri_removal %+v", props["@timestamp"], props["nri_removal"])
	}
	for _, k := range []string{"nri_msg", "MESSAGE"} {
		p := props[k]
		if p.Type != "keyword" || p.IgnoreAbove == 0 || p.Fields["text"]["type"] != "text" {
			t.Errorf("%s %+v: want keyword with a text multi-field", k, p)
		}
	}
	for _, k := range []string{"nri_event", "nri_op", "nri_field", "nri_plugin", "nri_plugin_name", "nri_plugin_index",
		"nri_runtime", "nri_error_plugin", "nri_parse_error", "nri_level",
		"nri_container_id", "nri_container_name", "nri_pod_name", "nri_pod_namespace", "nri_pod_uid",
		"_HOSTNAME", "_BOOT_ID", "_MACHINE_ID", "SYSLOG_IDENTIFIER", "_SYSTEMD_UNIT", "_PID", "PRIORITY"} {
		if p := props[k]; p.Type != "keyword" || p.IgnoreAbove == 0 || p.IgnoreAbove > 8191 {
			t.Errorf("%s %+v: want keyword with ignore_above ≤ 8191 (Lucene's 32766-byte term limit)", k, p)
		}
	}
	dt := ct.Template.Mappings.DynamicTemplates
	if len(dt) < 2 {
		t.Fatalf("dynamic templates %v", dt)
	}
	first := dt[0]["nri_strings"]
	if first.Match != "nri_*" || first.MatchMappingType != "string" || first.Mapping["type"] != "keyword" || first.Mapping["ignore_above"] == nil {
		t.Errorf("nri_* dynamic template %+v", first)
	}
	for _, d := range dt {
		for name, v := range d {
			if v.Mapping["type"] == "keyword" && v.Mapping["ignore_above"] == nil {
				t.Errorf("dynamic template %s without ignore_above: huge values would reject documents", name)
			}
		}
	}
}

// TestMappingsNoDetection: the composed mappings turn off date and numeric
// detection. Elasticsearch's date_detection is on by default and runs
// before the string dynamic templates: the first nri_value_value that
// looks like a date (an annotation "add annotation ... value.value=2026-02-09")
// would map the field as date, and from then on every env event
// (nri_value_value "<redacted>") and sysctl value would be rejected with a
// mapper_parsing_exception and go to the dead letter. DESIGN.md §3: one
// field never changes type, nri_* is keyword.
func TestMappingsNoDetection(t *testing.T) {
	for name, get := range assetSets() {
		assets, err := get()
		if err != nil {
			t.Fatal(err)
		}
		m := ComposedMappings(t, assets)
		if m.DateDetection || m.NumericDetection {
			t.Errorf("%s: date_detection %v, numeric_detection %v: a date- or number-looking first value would fix a field's type",
				name, m.DateDetection, m.NumericDetection)
		}
		for _, f := range []string{"nri_value_value", "nri_fields_time", "nri_value"} {
			if typ, _, ok := m.Resolve(f); !ok || typ != "keyword" {
				t.Errorf("%s: %s maps to %q, want keyword", name, f, typ)
			}
		}
	}
}
