package efktest

import (
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"
)

// Mappings are the fields an index template maps: explicit properties
// (objects flattened to dotted names, multi-fields as name.sub) and the
// dynamic templates that map the rest.
type Mappings struct {
	Fields  map[string]string // field → type
	Dynamic []DynamicTemplate
	// DateDetection and NumericDetection are mappings.date_detection and
	// mappings.numeric_detection as Elasticsearch applies them (defaults
	// true and false). With date detection on, a new field whose first
	// string value looks like a date (2026-02-09, 2026/02/09 ...) is
	// mapped as date before any string dynamic template is consulted.
	DateDetection    bool
	NumericDetection bool
}

// DynamicTemplate is one entry of mappings.dynamic_templates.
type DynamicTemplate struct {
	Name             string
	Match            []string
	Unmatch          []string
	PathMatch        []string
	PathUnmatch      []string
	MatchMappingType []string
	Type             string // mapping.type
}

type templateBody struct {
	Template struct {
		Mappings json.RawMessage `json:"mappings"`
	} `json:"template"`
}

type mappingsBody struct {
	DateDetection    *bool `json:"date_detection"`
	NumericDetection *bool `json:"numeric_detection"`
	DynamicTemplates []map[string]struct {
		Match            stringList `json:"match"`
		Unmatch          stringList `json:"unmatch"`
		PathMatch        stringList `json:"path_match"`
		PathUnmatch      stringList `json:"path_unmatch"`
		MatchMappingType stringList `json:"match_mapping_type"`
		Mapping          struct {
			Type string `json:"type"`
		} `json:"mapping"`
	} `json:"dynamic_templates"`
	Properties map[string]property `json:"properties"`
}

type property struct {
	Type       string              `json:"type"`
	Properties map[string]property `json:"properties"`
	Fields     map[string]property `json:"fields"`
}

// stringList decodes a string or a list of strings.
type stringList []string

func (s *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*s = many
	return nil
}

// ParseMappings merges the template.mappings of component and index
// template bodies, in composition order (later ones win, as in
// Elasticsearch).
func ParseMappings(bodies ...[]byte) (*Mappings, error) {
	m := &Mappings{Fields: map[string]string{}, DateDetection: true}
	for i, b := range bodies {
		var tb templateBody
		if err := json.Unmarshal(b, &tb); err != nil {
			return nil, fmt.Errorf("template %d: %w", i, err)
		}
		if len(tb.Template.Mappings) == 0 {
			continue
		}
		var mb mappingsBody
		if err := json.Unmarshal(tb.Template.Mappings, &mb); err != nil {
			return nil, fmt.Errorf("template %d: mappings: %w", i, err)
		}
		if mb.DateDetection != nil {
			m.DateDetection = *mb.DateDetection
		}
		if mb.NumericDetection != nil {
			m.NumericDetection = *mb.NumericDetection
		}
		for _, dt := range mb.DynamicTemplates {
			for name, d := range dt {
				m.Dynamic = append(m.Dynamic, DynamicTemplate{
					Name: name, Match: d.Match, Unmatch: d.Unmatch, PathMatch: d.PathMatch,
					PathUnmatch: d.PathUnmatch, MatchMappingType: d.MatchMappingType, Type: d.Mapping.Type,
				})
			}
		}
		flatten("", mb.Properties, m.Fields)
	}
	return m, nil
}

func flatten(prefix string, props map[string]property, out map[string]string) {
	for name, p := range props {
		full := prefix + name
		switch {
		case len(p.Properties) > 0:
			flatten(full+".", p.Properties, out)
		case p.Type == "":
			out[full] = "object"
		default:
			out[full] = p.Type
		}
		for sub, sp := range p.Fields {
			out[full+"."+sub] = sp.Type
		}
	}
}

// Explicit returns the type of an explicitly mapped field.
func (m *Mappings) Explicit(field string) (string, bool) {
	t, ok := m.Fields[field]
	return t, ok
}

// Resolve returns the type a field gets: its explicit mapping, else the
// first dynamic template whose name pattern (match or path_match) matches
// it for a JSON string value (DESIGN.md §3: every nri_* value is a
// string). It does not model date or numeric detection: with either on,
// Elasticsearch may map a new field from its first value instead (see
// DateDetection). Catch-all templates without a name pattern do not
// count: they map any typo too. The second result names where the type comes from
// ("explicit" or the dynamic template's name).
func (m *Mappings) Resolve(field string) (typ, source string, ok bool) {
	if t, ok := m.Fields[field]; ok {
		return t, "explicit", true
	}
	leaf := field
	if i := strings.LastIndexByte(field, '.'); i >= 0 {
		leaf = field[i+1:]
	}
	for _, d := range m.Dynamic {
		if len(d.MatchMappingType) > 0 && !contains(d.MatchMappingType, "string") && !contains(d.MatchMappingType, "*") {
			continue
		}
		if len(d.Match) == 0 && len(d.PathMatch) == 0 {
			continue
		}
		if len(d.Match) > 0 && !anyGlob(d.Match, leaf) || anyGlob(d.Unmatch, leaf) {
			continue
		}
		if len(d.PathMatch) > 0 && !anyGlob(d.PathMatch, field) || anyGlob(d.PathUnmatch, field) {
			continue
		}
		t := d.Type
		if t == "" || t == "{dynamic_type}" {
			t = "keyword"
		}
		return t, d.Name, true
	}
	return "", "", false
}

// Names returns the explicitly mapped fields, sorted.
func (m *Mappings) Names() []string {
	out := make([]string, 0, len(m.Fields))
	for f := range m.Fields {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// anyGlob matches Elasticsearch's simple wildcards (only *).
func anyGlob(patterns []string, s string) bool {
	for _, p := range patterns {
		// path.Match also knows ? and [...]; Elasticsearch's match does
		// not, so quote them.
		q := strings.NewReplacer("?", `\?`, "[", `\[`, `\`, `\\`).Replace(p)
		if ok, _ := path.Match(q, strings.ReplaceAll(s, "/", "\x00")); ok {
			return true
		}
	}
	return false
}
