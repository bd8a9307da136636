package audit

import (
	"strings"

	"github.com/containerd/nri/pkg/api"
)

// UnknownOwner is what the runtime logs when it has no owner record.
const UnknownOwner = "unknown"

// Owners is the parsed nri.plugin value of an audit line.
type Owners struct {
	// Names and Indexes are positional, one per comma-separated owner
	// ("10-device-injector" → "device-injector", "10"). Both are nil when
	// no owner is known (absent, empty or "unknown").
	Names   []string
	Indexes []string
	// Removal is true when an owner carried the "-" removal marker.
	Removal bool
}

// ParseOwners parses an nri.plugin value: "10-device-injector",
// "-05-logger" (removal), "10-a,11-b" (hooks, CDI devices), "unknown".
// The returned slices are appended to names and indexes (pass reused
// buffers with length 0 to avoid allocating).
func ParseOwners(value string, names, indexes []string) Owners {
	var o Owners
	known := false
	for rest := value; ; {
		owner, tail, more := strings.Cut(rest, ",")
		owner, removed := api.IsMarkedForRemoval(owner)
		o.Removal = o.Removal || removed
		name, index := splitOwner(owner)
		if owner != UnknownOwner && owner != "" {
			known = true
		}
		names = append(names, name)
		indexes = append(indexes, index)
		if !more {
			break
		}
		rest = tail
	}
	if known {
		o.Names, o.Indexes = names, indexes
	}
	return o
}

// splitOwner splits "<idx>-<name>" at the first "-" after the index, which
// is one or more digits kept as written ("05"). An owner without an index
// is all name.
func splitOwner(owner string) (name, index string) {
	i := 0
	for i < len(owner) && owner[i] >= '0' && owner[i] <= '9' {
		i++
	}
	if i > 0 && i < len(owner)-1 && owner[i] == '-' {
		return owner[i+1:], owner[:i]
	}
	return owner, ""
}
