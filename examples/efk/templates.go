package efk

import (
	"embed"
	"fmt"
)

//go:embed templates/*.json
var templateFiles embed.FS

// Index patterns and names the templates are written for.
const (
	// IndexPattern matches the date-pattern indices (nri-audit-%Y.%m.%d)
	// and the dead-letter index nri-audit-dead-letter.
	IndexPattern = "nri-audit-*"
	// DataStreamPattern matches the data streams logs-nri_audit-<namespace>.
	DataStreamPattern = "logs-nri_audit-*"
	// DefaultDataStream is the data stream name the docs use.
	DefaultDataStream = "logs-nri_audit-default"
	// DeadLetterIndex is the dead-letter index name the docs use
	// (--dead-letter-index). IndexPattern matches it too; the dead-letter
	// template, of higher priority, keeps it out of the daily lifecycle.
	DeadLetterIndex = "nri-audit-dead-letter"
)

// Asset is one Elasticsearch object: the API path it is PUT to (e.g.
// "_ilm/policy/nri-audit"), the embedded file it comes from, and its body.
type Asset struct {
	Path string
	File string
	Body []byte
}

type assetRef struct{ path, file string }

// Shared by both targets: the mappings and settings component templates.
func components() []assetRef {
	return []assetRef{
		{"_component_template/nri-audit-mappings", "templates/component-nri-audit-mappings.json"},
		{"_component_template/nri-audit-settings", "templates/component-nri-audit-settings.json"},
	}
}

// IndexTemplateAssets returns, in install order, the lifecycle policy,
// component templates and index template for the date-pattern indices.
func IndexTemplateAssets() ([]Asset, error) {
	refs := append([]assetRef{{"_ilm/policy/nri-audit-daily", "templates/ilm-nri-audit-daily.json"}}, components()...)
	refs = append(refs, assetRef{"_index_template/nri-audit", "templates/index-template-nri-audit.json"})
	return load(refs)
}

// DataStreamAssets returns, in install order, the lifecycle policy
// (rollover and delete), component templates and the data stream index
// template (priority 200, above the built-in logs-*-* template).
func DataStreamAssets() ([]Asset, error) {
	refs := append([]assetRef{{"_ilm/policy/nri-audit", "templates/ilm-nri-audit.json"}}, components()...)
	refs = append(refs, assetRef{"_index_template/nri-audit-ds", "templates/index-template-nri-audit-ds.json"})
	return load(refs)
}

// DeadLetterAssets returns the index template of the dead-letter index:
// the shared mappings and settings, priority 210, no lifecycle policy
// (dead letters are kept until someone deletes them; the daily policy
// would delete the whole index 90 days after its creation, recent dead
// letters included). It is composed of the component templates that
// IndexTemplateAssets and DataStreamAssets install: install it after
// those.
func DeadLetterAssets() ([]Asset, error) {
	return load([]assetRef{{"_index_template/nri-audit-dead-letter", "templates/index-template-nri-audit-dead-letter.json"}})
}

func load(refs []assetRef) ([]Asset, error) {
	out := make([]Asset, 0, len(refs))
	for _, r := range refs {
		b, err := templateFiles.ReadFile(r.file)
		if err != nil {
			return nil, fmt.Errorf("efk: %s: %w", r.file, err)
		}
		out = append(out, Asset{Path: r.path, File: r.file, Body: b})
	}
	return out, nil
}
