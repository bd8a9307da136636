package esbulk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Asset is one Elasticsearch object Setup installs: the API path it is PUT
// to and its JSON body. Supported paths: _ilm/policy/NAME,
// _component_template/NAME and _index_template/NAME. Each body carries its
// version in _meta.version (policy._meta.version for ILM policies).
type Asset struct {
	Path string
	Body []byte
}

// SetupOptions say what Setup installs.
type SetupOptions struct {
	// Assets are installed in this order (lifecycle policies and
	// component templates before the index templates that use them).
	Assets []Asset
	// IndexPatterns, when set, replace index_patterns of every index
	// template (e.g. for a custom data stream name).
	IndexPatterns []string
	// Force installs even when the same or a newer version is there.
	Force bool
}

// Setup actions.
const (
	ActionCreated   = "created"   // absent before
	ActionUpgraded  = "upgraded"  // an older version (or none in _meta) was replaced
	ActionUnchanged = "unchanged" // the same version is installed
	ActionKept      = "kept"      // a newer version is installed; not downgraded
	ActionForced    = "forced"    // replaced because of Force
)

// SetupAction reports what Setup did with one asset.
type SetupAction struct {
	Path      string
	Action    string
	Version   int64 // the asset's version
	Installed int64 // the version found before, 0 when absent or unversioned
}

func (a SetupAction) String() string {
	switch a.Action {
	case ActionCreated:
		return fmt.Sprintf("%-9s %s (version %d)", a.Action, a.Path, a.Version)
	case ActionUnchanged:
		return fmt.Sprintf("%-9s %s (version %d)", a.Action, a.Path, a.Version)
	case ActionKept:
		return fmt.Sprintf("%-9s %s (installed version %d is newer than %d)", a.Action, a.Path, a.Installed, a.Version)
	}
	return fmt.Sprintf("%-9s %s (version %d -> %d)", a.Action, a.Path, a.Installed, a.Version)
}

type assetKind int

const (
	kindILM assetKind = iota
	kindComponent
	kindIndexTemplate
)

func assetKindOf(path string) (assetKind, string, error) {
	for _, k := range []struct {
		prefix string
		kind   assetKind
	}{
		{"_ilm/policy/", kindILM},
		{"_component_template/", kindComponent},
		{"_index_template/", kindIndexTemplate},
	} {
		if name, ok := strings.CutPrefix(path, k.prefix); ok {
			if err := validIndexName(name); err != nil {
				return 0, "", fmt.Errorf("esbulk: setup: asset %s: %w", path, err)
			}
			return k.kind, name, nil
		}
	}
	return 0, "", fmt.Errorf("esbulk: setup: asset path %q: want _ilm/policy/, _component_template/ or _index_template/ and a name", path)
}

// PrepareAssets validates the assets and applies IndexPatterns, returning
// the bodies Setup would PUT (what `nri-audit setup --print` shows).
func PrepareAssets(opts SetupOptions) ([]Asset, error) {
	if len(opts.Assets) == 0 {
		return nil, errors.New("esbulk: setup: no assets")
	}
	out := make([]Asset, 0, len(opts.Assets))
	for _, a := range opts.Assets {
		kind, _, err := assetKindOf(a.Path)
		if err != nil {
			return nil, err
		}
		if _, err := AssetVersion(a); err != nil {
			return nil, err
		}
		if kind == kindIndexTemplate && len(opts.IndexPatterns) > 0 {
			for _, p := range opts.IndexPatterns {
				if err := validIndexName(strings.ReplaceAll(p, "*", "x")); err != nil {
					return nil, fmt.Errorf("esbulk: setup: index pattern: %w", err)
				}
			}
			var obj map[string]any
			if err := decodeNumbers(a.Body, &obj); err != nil {
				return nil, fmt.Errorf("esbulk: setup: asset %s: %w", a.Path, err)
			}
			obj["index_patterns"] = opts.IndexPatterns
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(obj); err != nil {
				return nil, fmt.Errorf("esbulk: setup: asset %s: %w", a.Path, err)
			}
			a.Body = buf.Bytes()
		}
		out = append(out, a)
	}
	return out, nil
}

func decodeNumbers(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON object")
	}
	return nil
}

// AssetVersion reads the version an asset body declares.
func AssetVersion(a Asset) (int64, error) {
	kind, _, err := assetKindOf(a.Path)
	if err != nil {
		return 0, err
	}
	var obj map[string]any
	if err := decodeNumbers(a.Body, &obj); err != nil {
		return 0, fmt.Errorf("esbulk: setup: asset %s: invalid JSON: %w", a.Path, err)
	}
	if kind == kindILM {
		obj, _ = obj["policy"].(map[string]any)
	}
	v, ok := metaVersion(obj)
	if !ok || v <= 0 {
		return 0, fmt.Errorf("esbulk: setup: asset %s: no positive integer _meta.version", a.Path)
	}
	return v, nil
}

func metaVersion(obj map[string]any) (int64, bool) {
	meta, _ := obj["_meta"].(map[string]any)
	n, ok := meta["version"].(json.Number)
	if !ok {
		return 0, false
	}
	v, err := n.Int64()
	return v, err == nil
}

// Setup installs the assets in order, each only when it is absent or
// older than the asset (by _meta.version), unless Force. It stops at the
// first failure.
func (c *Client) Setup(ctx context.Context, opts SetupOptions) ([]SetupAction, error) {
	assets, err := PrepareAssets(opts)
	if err != nil {
		return nil, err
	}
	var done []SetupAction
	for _, a := range assets {
		act, err := c.installAsset(ctx, a, opts.Force)
		if err != nil {
			return done, err
		}
		done = append(done, act)
	}
	return done, nil
}

func (c *Client) installAsset(ctx context.Context, a Asset, force bool) (SetupAction, error) {
	kind, name, _ := assetKindOf(a.Path)
	version, _ := AssetVersion(a)
	act := SetupAction{Path: a.Path, Version: version}

	resp, err := c.setupRequest(ctx, http.MethodGet, a.Path, nil)
	if err != nil {
		return act, err
	}
	present := false
	switch {
	case resp.status == http.StatusNotFound:
	case resp.status/100 == 2:
		act.Installed, present, err = installedVersion(kind, name, resp.body)
		if err != nil {
			return act, fmt.Errorf("esbulk: setup: GET %s: %w", a.Path, err)
		}
	default:
		return act, fmt.Errorf("esbulk: setup: GET %s: HTTP %d %s", a.Path, resp.status, esErrorReason(resp.body))
	}
	switch {
	case !present:
		act.Action = ActionCreated
	case force:
		act.Action = ActionForced
	case act.Installed == version:
		act.Action = ActionUnchanged
		return act, nil
	case act.Installed > version:
		act.Action = ActionKept
		c.log.Warn("esbulk: setup: a newer version is installed; not downgrading", "path", a.Path,
			"installed", act.Installed, "ours", version)
		return act, nil
	default:
		act.Action = ActionUpgraded
	}
	resp, err = c.setupRequest(ctx, http.MethodPut, a.Path, a.Body)
	if err != nil {
		return act, err
	}
	if resp.status/100 != 2 {
		return act, fmt.Errorf("esbulk: setup: PUT %s: HTTP %d %s", a.Path, resp.status, esErrorReason(resp.body))
	}
	var ack struct {
		Acknowledged *bool `json:"acknowledged"`
	}
	if json.Unmarshal(resp.body, &ack) == nil && ack.Acknowledged != nil && !*ack.Acknowledged {
		return act, fmt.Errorf("esbulk: setup: PUT %s: not acknowledged by the cluster (master timeout?); run setup again", a.Path)
	}
	return act, nil
}

// installedVersion reads the version from a GET response of the asset's
// API; present is false when the response holds no such object.
func installedVersion(kind assetKind, name string, body []byte) (version int64, present bool, err error) {
	var obj map[string]any
	if err := decodeNumbers(body, &obj); err != nil {
		return 0, false, fmt.Errorf("invalid JSON: %w", err)
	}
	var found map[string]any
	switch kind {
	case kindILM:
		entry, _ := obj[name].(map[string]any)
		if entry == nil {
			return 0, false, nil
		}
		found, _ = entry["policy"].(map[string]any)
	case kindComponent, kindIndexTemplate:
		listKey, itemKey := "component_templates", "component_template"
		if kind == kindIndexTemplate {
			listKey, itemKey = "index_templates", "index_template"
		}
		list, _ := obj[listKey].([]any)
		for _, e := range list {
			m, _ := e.(map[string]any)
			if m["name"] == name {
				found, _ = m[itemKey].(map[string]any)
				break
			}
		}
		if found == nil {
			return 0, false, nil
		}
	}
	v, _ := metaVersion(found)
	return v, true, nil
}

// setupRequest sends a JSON request to the first endpoint that answers.
func (c *Client) setupRequest(ctx context.Context, method, path string, body []byte) (response, error) {
	var lastErr error
	for try := 0; try < len(c.endpoints); try++ {
		ep := &c.endpoints[c.pick()]
		resp, _, err := c.do(ctx, ep, method, ep.base+"/"+path, body, false, "application/json", nil)
		if err == nil {
			if resp.status == http.StatusUnauthorized || resp.status == http.StatusForbidden {
				return resp, fmt.Errorf("esbulk: setup: %s %s: %w: HTTP %d %s (setup needs the manage_ilm and manage_index_templates cluster privileges)",
					method, path, ErrAuth, resp.status, esErrorReason(resp.body))
			}
			return resp, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
	}
	return response{}, fmt.Errorf("esbulk: setup: %s %s: %w", method, path, lastErr)
}
