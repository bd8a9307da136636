package efk

import (
	"strings"
	"testing"

	"github.com/nri-audit/nri-audit/examples/efk/efktest"
)

// ComposedMappings merges the mappings of the component and index
// templates among setup's assets, as Elasticsearch composes them. It is
// exported to the external tests of this package (kibana_test.go).
func ComposedMappings(t testing.TB, assets []Asset) *efktest.Mappings {
	t.Helper()
	var bodies [][]byte
	for _, a := range assets {
		if strings.HasPrefix(a.Path, "_component_template/") || strings.HasPrefix(a.Path, "_index_template/") {
			bodies = append(bodies, a.Body)
		}
	}
	m, err := efktest.ParseMappings(bodies...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
