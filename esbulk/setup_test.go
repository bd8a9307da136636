package esbulk_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/nri-audit/nri-audit/esbulk"
)

func testAssets(version string) []esbulk.Asset {
	return []esbulk.Asset{
		{Path: "_ilm/policy/t-policy", Body: []byte(`{"policy":{"_meta":{"version":` + version + `},"phases":{"delete":{"min_age":"90d","actions":{"delete":{}}}}}}`)},
		{Path: "_component_template/t-mappings", Body: []byte(`{"template":{"mappings":{"properties":{"@timestamp":{"type":"date_nanos"}}}},"_meta":{"version":` + version + `}}`)},
		{Path: "_component_template/t-settings", Body: []byte(`{"template":{"settings":{"index.codec":"best_compression"}},"_meta":{"version":1}}`)},
		{Path: "_index_template/t", Body: []byte(`{"index_patterns":["t-*"],"priority":200,"composed_of":["t-mappings","t-settings"],` +
			`"template":{"settings":{"index.lifecycle.name":"t-policy"}},"_meta":{"version":` + version + `}}`)},
	}
}

func actions(acts []esbulk.SetupAction) string {
	var s []string
	for _, a := range acts {
		s = append(s, a.Action)
	}
	return strings.Join(s, ",")
}

func TestSetupIdempotentAndUpgrades(t *testing.T) {
	f := newFakeES(t).start()
	c := newClient(t, esbulk.Config{URLs: []string{f.URL()}})
	ctx := context.Background()

	acts, err := c.Setup(ctx, esbulk.SetupOptions{Assets: testAssets("1")})
	if err != nil {
		t.Fatal(err)
	}
	if got := actions(acts); got != "created,created,created,created" {
		t.Fatalf("first run: %s", got)
	}
	acts, err = c.Setup(ctx, esbulk.SetupOptions{Assets: testAssets("1")})
	if err != nil || actions(acts) != "unchanged,unchanged,unchanged,unchanged" {
		t.Fatalf("second run: %s %v", actions(acts), err)
	}
	for path, n := range f.puts {
		if n != 1 {
			t.Errorf("%s PUT %d times", path, n)
		}
	}

	acts, err = c.Setup(ctx, esbulk.SetupOptions{Assets: testAssets("2")})
	if err != nil || actions(acts) != "upgraded,upgraded,unchanged,upgraded" {
		t.Fatalf("upgrade: %s %v", actions(acts), err)
	}
	if acts[0].Installed != 1 || acts[0].Version != 2 || acts[0].String() != "upgraded  _ilm/policy/t-policy (version 1 -> 2)" {
		t.Errorf("action %+v %q", acts[0], acts[0].String())
	}
	if f.puts["_component_template/t-settings"] != 1 || f.puts["_index_template/t"] != 2 {
		t.Errorf("puts %v", f.puts)
	}

	// An older nri-audit must not downgrade what a newer one installed.
	acts, err = c.Setup(ctx, esbulk.SetupOptions{Assets: testAssets("1")})
	if err != nil || actions(acts) != "kept,kept,unchanged,kept" {
		t.Fatalf("downgrade: %s %v", actions(acts), err)
	}
	acts, err = c.Setup(ctx, esbulk.SetupOptions{Assets: testAssets("1"), Force: true})
	if err != nil || actions(acts) != "forced,forced,forced,forced" {
		t.Fatalf("force: %s %v", actions(acts), err)
	}
}

func TestSetupOrderAndErrors(t *testing.T) {
	f := newFakeES(t).start()
	c := newClient(t, esbulk.Config{URLs: []string{f.URL()}})
	a := testAssets("1")
	// The index template before its component templates: Elasticsearch
	// refuses it, and Setup reports why.
	_, err := c.Setup(context.Background(), esbulk.SetupOptions{Assets: []esbulk.Asset{a[3], a[1], a[2]}})
	if err == nil || !strings.Contains(err.Error(), "specifies component templates [t-mappings t-settings] that do not exist") {
		t.Errorf("error %v", err)
	}
	for _, bad := range []esbulk.Asset{
		{Path: "_template/legacy", Body: []byte(`{}`)},
		{Path: "_index_template/x", Body: []byte(`{"index_patterns":["x"]}`)},
		{Path: "_index_template/x", Body: []byte(`{"_meta":{"version":"1"}}`)},
		{Path: "_ilm/policy/p", Body: []byte(`{"_meta":{"version":1},"policy":{}}`)},
		{Path: "_component_template/c", Body: []byte(`{"_meta":{"version":1}} trailing`)},
		{Path: "_component_template/Bad", Body: []byte(`{"_meta":{"version":1}}`)},
	} {
		if _, err := esbulk.PrepareAssets(esbulk.SetupOptions{Assets: []esbulk.Asset{bad}}); err == nil {
			t.Errorf("%s %s accepted", bad.Path, bad.Body)
		}
	}
	secured := newFakeES(t).start()
	secured.wantAuth = basic("elastic", "x")
	c2 := newClient(t, esbulk.Config{URLs: []string{secured.URL()}})
	if _, err := c2.Setup(context.Background(), esbulk.SetupOptions{Assets: a}); err == nil || !strings.Contains(err.Error(), "HTTP 401") {
		t.Errorf("no credentials: %v", err)
	}
}

func TestSetupIndexPatterns(t *testing.T) {
	f := newFakeES(t).start()
	c := newClient(t, esbulk.Config{URLs: []string{f.URL()}})
	if _, err := c.Setup(context.Background(), esbulk.SetupOptions{Assets: testAssets("1"), IndexPatterns: []string{"logs-audit-prod"}}); err != nil {
		t.Fatal(err)
	}
	var tpl struct {
		IndexPatterns []string       `json:"index_patterns"`
		Meta          map[string]int `json:"_meta"`
		Priority      int            `json:"priority"`
	}
	if err := json.Unmarshal(f.assets["_index_template/t"], &tpl); err != nil {
		t.Fatal(err)
	}
	if len(tpl.IndexPatterns) != 1 || tpl.IndexPatterns[0] != "logs-audit-prod" || tpl.Meta["version"] != 1 || tpl.Priority != 200 {
		t.Errorf("stored template %s", f.assets["_index_template/t"])
	}
	if _, err := esbulk.PrepareAssets(esbulk.SetupOptions{Assets: testAssets("1"), IndexPatterns: []string{"Bad*"}}); err == nil {
		t.Error("bad pattern accepted")
	}
}
