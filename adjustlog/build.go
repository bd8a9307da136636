package adjustlog

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/containerd/nri/pkg/api"

	"github.com/nri-audit/nri-audit/audit"
)

// Options select what Build writes. The zero value is the default.
type Options struct {
	// ClearEnvValues writes env values as the PoC runtime logs them: in
	// clear text for new (and, with UnchangedEnv, untouched) variables.
	// By default every env value is written as audit.Redacted. Overridden
	// variables are "<value omitted>" either way, as in the PoC.
	ClearEnvValues bool
	// UnchangedEnv also writes a line for every pre-existing variable no
	// plugin touched, as the PoC does when an adjustment has any env change
	// ("add environment variable", nri.plugin=unknown). Off by default:
	// those lines are no change.
	UnchangedEnv bool
}

// Identity names the container an adjustment applies to. Empty fields are
// left out of the lines.
type Identity struct {
	ContainerID   string
	ContainerName string
	PodName       string
	PodNamespace  string
	PodUID        string
	// Runtime is the runtime's name as RuntimeName normalizes it.
	Runtime string
}

// IdentityOf takes the identity from a request; runtime is the name the
// runtime gave in the plugin's Configure call.
func IdentityOf(req *api.ValidateContainerAdjustmentRequest, runtime string) Identity {
	c, p := req.GetContainer(), req.GetPod()
	return Identity{
		ContainerID:   c.GetId(),
		ContainerName: c.GetName(),
		PodName:       p.GetName(),
		PodNamespace:  p.GetNamespace(),
		PodUID:        p.GetUid(),
		Runtime:       RuntimeName(runtime),
	}
}

// RuntimeName maps the runtime name of NRI's Configure request to the
// values of nri_runtime (DESIGN.md §3.1 rule 15): "containerd", "crio", or
// the name as given.
func RuntimeName(name string) string {
	switch {
	case strings.Contains(name, "containerd"):
		return "containerd"
	case strings.Contains(name, "crio"), strings.Contains(name, "cri-o"):
		return "crio"
	}
	return name
}

// event is an index into the catalog messages a Builder resolved.
type event uint8

const (
	evRemoveProcessEnv event = iota
	evAddProcessEnv
	evSetProcessArgs
	evRemoveAnnotation
	evAddAnnotation
	evAddOCIHook
	evSetLinuxCPUPeriod
	evSetLinuxCPUQuota
	evSetLinuxCPUShares
	evSetLinuxCPUSetCPUs
	evSetLinuxCPUSetMems
	evSetLinuxCPURealtimeRuntime
	evSetLinuxCPURealtimePeriod
	evSetLinuxMemLimit
	evSetLinuxMemSwapLimit
	evSetLinuxHugepageLimit
	evSetLinuxResourceUnified
	evSetLinuxPidsLimit
	evClearLinuxBlkioClass
	evSetLinuxBlkioClass
	evClearLinuxRdtClass
	evSetLinuxRdtClass
	evClearLinuxRdt
	evSetLinuxRdtClosID
	evSetLinuxRdtSchemata
	evSetLinuxRdtMonitoring
	evSetLinuxCgroupsPath
	evSetProcessOOMScoreAdj
	evSetLinuxIOPriority
	evSetLinuxSeccompPolicy
	evRemoveLinuxNamespace
	evSetLinuxNamespace
	evRemoveLinuxSysctl
	evSetLinuxSysctl
	evSetLinuxScheduler
	evRemoveLinuxDevice
	evAddLinuxDevice
	evAddLinuxDeviceRule
	evRemoveLinuxNetDevice
	evAddLinuxNetDevice
	evInjectCDIDevices
	evAddProcessRlimits
	evRemoveMount
	evAddMount
	evSetLinuxRootPropagation
	evCount
)

// eventNames are the catalog names (audit.Event.Name) of the events above.
var eventNames = [evCount]string{
	"RemoveProcessEnv", "AddProcessEnv", "SetProcessArgs", "RemoveAnnotation",
	"AddAnnotation", "AddOCIHook", "SetLinuxCPUPeriod", "SetLinuxCPUQuota",
	"SetLinuxCPUShares", "SetLinuxCPUSetCPUs", "SetLinuxCPUSetMems",
	"SetLinuxCPURealtimeRuntime", "SetLinuxCPURealtimePeriod", "SetLinuxMemLimit",
	"SetLinuxMemSwapLimit", "SetLinuxHugepageLimit", "SetLinuxResourceUnified",
	"SetLinuxPidsLimit", "ClearLinuxBlkioClass", "SetLinuxBlkioClass",
	"ClearLinuxRdtClass", "SetLinuxRdtClass", "ClearLinuxRdt", "SetLinuxRdtClosID",
	"SetLinuxRdtSchemata", "SetLinuxRdtMonitoring", "SetLinuxCgroupsPath",
	"SetProcessOOMScoreAdj", "SetLinuxIOPriority", "SetLinuxSeccompPolicy",
	"RemoveLinuxNamespace", "SetLinuxNamespace", "RemoveLinuxSysctl",
	"SetLinuxSysctl", "SetLinuxScheduler", "RemoveLinuxDevice", "AddLinuxDevice",
	"AddLinuxDeviceRule", "RemoveLinuxNetDevice", "AddLinuxNetDevice",
	"InjectCDIDevices", "AddProcessRlimits", "RemoveMount", "AddMount",
	"SetLinuxRootPropagation",
}

// Builder turns validation requests into lines. It is safe for concurrent
// use.
type Builder struct {
	opts Options
	msgs [evCount]string
}

// New returns a Builder whose messages come from the audit catalog.
func New(opts Options) (*Builder, error) {
	b := &Builder{opts: opts}
	byName := make(map[string]string)
	for _, e := range audit.Events() {
		byName[e.Name] = e.Message
	}
	for i, name := range eventNames {
		msg, ok := byName[name]
		if !ok {
			return nil, fmt.Errorf("adjustlog: the audit catalog has no event %q", name)
		}
		b.msgs[i] = msg
	}
	return b, nil
}

// Build appends to dst the lines for req, in the order the runtime's
// generator (Generator.Adjust) would log them, and returns dst. clock gives
// each line's time (time.Now when nil). A request without an adjustment
// gives no line.
//
// What the runtime decides after validation cannot be seen here, so Build
// assumes the runtime has a CDI injector and block I/O and RDT class
// resolvers (containerd and CRI-O set all three), that every mutation
// succeeds, and that the spec's root propagation is neither rshared nor
// rslave before the first mount asks for one.
func (b *Builder) Build(dst []Line, req *api.ValidateContainerAdjustmentRequest, id Identity, clock func() time.Time) []Line {
	return b.build(dst, req, id, clock).out
}

func (b *Builder) build(dst []Line, req *api.ValidateContainerAdjustmentRequest, id Identity, clock func() time.Time) *gen {
	adj := req.GetAdjust()
	if adj == nil {
		return &gen{out: dst}
	}
	if clock == nil {
		clock = time.Now
	}
	var owners *api.FieldOwners
	if c := req.GetContainer(); c != nil {
		owners = req.GetOwners().GetOwners()[c.GetId()]
	}
	g := &gen{b: b, id: id, clock: clock, owners: owners, out: dst}
	linux := adj.GetLinux()

	g.annotations(adj.GetAnnotations())
	g.env(req.GetContainer().GetEnv(), adj.GetEnv())
	g.args(adj.GetArgs())
	g.hooks(adj.GetHooks())
	g.cdiDevices(adj.GetCDIDevices())
	g.devices(linux.GetDevices())
	if p := linux.GetCgroupsPath(); p != "" {
		g.emit(evSetLinuxCgroupsPath, g.simple(api.Field_CgroupsPath), Field{KeyValue, String(p)})
	}
	if s := linux.GetOomScoreAdj(); s != nil {
		// The PoC logs int(score.Value).
		g.emit(evSetProcessOOMScoreAdj, g.simple(api.Field_OomScoreAdj), Field{KeyValue, Int(int64(s.GetValue()))})
	}
	if p := linux.GetIoPriority(); p != nil {
		g.emit(evSetLinuxIOPriority, g.simple(api.Field_IoPriority),
			Field{"value.class", String(p.GetClass().String())},
			Field{"value.priority", Int(int64(p.GetPriority()))})
	}
	if s := linux.GetScheduler(); s != nil {
		g.emit(evSetLinuxScheduler, g.simple(api.Field_LinuxSched),
			Field{"value.deadline", Uint(s.GetDeadline())},
			Field{"value.nice", Int(int64(s.GetNice()))},
			Field{"value.period", Uint(s.GetPeriod())},
			Field{"value.policy", String(s.GetPolicy().String())},
			Field{"value.priority", Int(int64(s.GetPriority()))},
			Field{"value.runtime", Uint(s.GetRuntime())})
	}
	if linux.GetSeccompPolicy() != nil {
		g.emit(evSetLinuxSeccompPolicy, g.simple(api.Field_SeccompPolicy))
	}
	g.namespaces(linux.GetNamespaces())
	g.sysctl(linux.GetSysctl())
	g.netDevices(linux.GetNetDevices())
	res := linux.GetResources()
	g.resources(res)
	g.class(res.GetBlockioClass().Get(), evClearLinuxBlkioClass, evSetLinuxBlkioClass, api.Field_BlockioClass)
	g.class(res.GetRdtClass().Get(), evClearLinuxRdtClass, evSetLinuxRdtClass, api.Field_RdtClass)
	g.rdt(linux.GetRdt())
	g.mounts(adj.GetMounts())
	g.rlimits(adj.GetRlimits())
	return g
}

// gen holds the state of one Build.
type gen struct {
	b      *Builder
	id     Identity
	clock  func() time.Time
	owners *api.FieldOwners
	out    []Line
	// unsorted counts lines whose value fields came out of order (a test
	// keeps it at 0: sorting costs a third of Build).
	unsorted int
}

// noOwner marks a line that carries no nri.plugin key at all.
const noOwner = "\x00"

func (g *gen) simple(f api.Field) string {
	if g.owners != nil {
		if o := g.owners.GetSimple()[int32(f)]; o != "" {
			return o
		}
	}
	return audit.UnknownOwner
}

func (g *gen) compound(f api.Field, key string) string {
	if g.owners != nil {
		if o := g.owners.GetCompound()[int32(f)].GetOwners()[key]; o != "" {
			return o
		}
	}
	return audit.UnknownOwner
}

func (g *gen) emit(ev event, owner string, fields ...Field) {
	// Fields go in key order without a sort: args, container.*,
	// nri.plugin, pod.*, runtime.name, then the value keys, which the
	// callers pass in key order ("value" > "runtime.name").
	fs := make([]Field, 0, len(fields)+8)
	if len(fields) > 0 && fields[0].Key == KeyArgs {
		fs = append(fs, fields[0])
		fields = fields[1:]
	}
	add := func(key, val string) {
		if val != "" {
			fs = append(fs, Field{key, String(val)})
		}
	}
	add(KeyContainerID, g.id.ContainerID)
	add(KeyContainerName, g.id.ContainerName)
	if owner != noOwner {
		fs = append(fs, Field{KeyPlugin, String(owner)})
	}
	add(KeyPodName, g.id.PodName)
	add(KeyPodNamespace, g.id.PodNamespace)
	add(KeyPodUID, g.id.PodUID)
	add(KeyRuntime, g.id.Runtime)
	fs = append(fs, fields...)
	if !slices.IsSortedFunc(fs, compareFields) {
		g.unsorted++
		slices.SortFunc(fs, compareFields)
	}
	g.out = append(g.out, Line{Time: g.clock(), Msg: g.b.msgs[ev], Event: eventNames[ev], Fields: fs})
}

func compareFields(a, b Field) int { return strings.Compare(a.Key, b.Key) }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	// The runtime ranges over the map in random order; sorted is one of
	// those orders, and "-key" (removal) sorts before "key".
	sort.Strings(keys)
	return keys
}

func (g *gen) annotations(m map[string]string) {
	for _, k := range sortedKeys(m) {
		if key, marked := api.IsMarkedForRemoval(k); marked {
			g.emit(evRemoveAnnotation, g.compound(api.Field_Annotations, key), Field{"value.key", String(key)})
			continue
		}
		g.emit(evAddAnnotation, g.compound(api.Field_Annotations, k),
			Field{"value.key", String(k)}, Field{"value.value", String(m[k])})
	}
}

func (g *gen) envValue(v string) Value {
	if g.b.opts.ClearEnvValues || v == "" {
		return String(v)
	}
	return String(audit.Redacted)
}

// env follows Generator.AdjustEnv: when the adjustment touches the
// environment, the runtime rebuilds it in spec order (overrides and
// removals logged there), then appends the new variables.
func (g *gen) env(spec []string, env []*api.KeyValue) {
	mod := make(map[string]*api.KeyValue, len(env))
	for _, e := range env {
		if e == nil {
			continue
		}
		key, _ := api.IsMarkedForRemoval(e.GetKey())
		mod[key] = e
	}
	if len(mod) > 0 {
		for _, kv := range spec {
			name, value, ok := strings.Cut(kv, "=")
			if !ok {
				continue
			}
			if m, ok := mod[name]; ok {
				delete(mod, name)
				if key, marked := m.IsMarkedForRemoval(); marked {
					g.emit(evRemoveProcessEnv, g.compound(api.Field_Env, key), Field{"value.name", String(key)})
				} else {
					g.emit(evAddProcessEnv, g.compound(api.Field_Env, m.GetKey()),
						Field{"value.name", String(m.GetKey())}, Field{"value.value", String(audit.ValueOmitted)})
				}
				continue
			}
			if g.b.opts.UnchangedEnv {
				g.emit(evAddProcessEnv, g.compound(api.Field_Env, name),
					Field{"value.name", String(name)}, Field{"value.value", g.envValue(value)})
			}
		}
	}
	for _, e := range env {
		if e == nil {
			continue
		}
		if _, marked := e.IsMarkedForRemoval(); marked {
			continue
		}
		if _, ok := mod[e.GetKey()]; ok {
			g.emit(evAddProcessEnv, g.compound(api.Field_Env, e.GetKey()),
				Field{"value.name", String(e.GetKey())}, Field{"value.value", g.envValue(e.GetValue())})
		}
	}
}

func (g *gen) args(args []string) {
	if len(args) == 0 {
		return
	}
	g.emit(evSetProcessArgs, g.simple(api.Field_Args), Field{KeyArgs, String(strings.Join(args, " "))})
}

func (g *gen) hooks(h *api.Hooks) {
	if h == nil {
		return
	}
	for _, set := range [...]struct {
		typ   string
		hooks []*api.Hook
	}{
		{"PreStart", h.GetPrestart()},
		{"PostStart", h.GetPoststart()},
		{"PostStop", h.GetPoststop()},
		{"CreateRuntime", h.GetCreateRuntime()},
		{"CreateContainer", h.GetCreateContainer()},
		{"StartContainer", h.GetStartContainer()},
	} {
		for _, hook := range set.hooks {
			if hook == nil {
				continue
			}
			g.emit(evAddOCIHook, g.simple(api.Field_OciHooks),
				Field{"value.path", String(hook.GetPath())}, Field{"value.type", String(set.typ)})
		}
	}
}

func (g *gen) cdiDevices(devices []*api.CDIDevice) {
	var names, owners []string
	for _, d := range devices {
		if d == nil {
			continue
		}
		names = append(names, d.GetName())
		owners = append(owners, g.compound(api.Field_CdiDevices, d.GetName()))
	}
	if len(names) == 0 {
		return
	}
	g.emit(evInjectCDIDevices, strings.Join(owners, ","), Field{KeyValue, String(strings.Join(names, ","))})
}

// devices follows Generator.AdjustDevices: every device is first removed,
// then, unless the adjustment only removes it, added with its cgroup rule.
func (g *gen) devices(devices []*api.LinuxDevice) {
	for _, d := range devices {
		if d == nil {
			continue
		}
		path, marked := d.IsMarkedForRemoval()
		g.emit(evRemoveLinuxDevice, g.compound(api.Field_Devices, path), Field{"value.path", String(path)})
		if marked {
			continue
		}
		owner := g.compound(api.Field_Devices, d.GetPath())
		g.emit(evAddLinuxDevice, owner,
			Field{"value.major", Int(d.GetMajor())},
			Field{"value.minor", Int(d.GetMinor())},
			Field{"value.path", String(d.GetPath())},
			Field{"value.type", String(d.GetType())})
		g.emit(evAddLinuxDeviceRule, owner,
			Field{"value.access", String(d.AccessString())},
			Field{"value.allow", Bool(true)},
			Field{"value.major", Int(d.GetMajor())},
			Field{"value.minor", Int(d.GetMinor())},
			Field{"value.type", String(d.GetType())})
	}
}

func (g *gen) namespaces(namespaces []*api.LinuxNamespace) {
	for _, n := range namespaces {
		if n == nil {
			continue
		}
		if key, marked := n.IsMarkedForRemoval(); marked {
			g.emit(evRemoveLinuxNamespace, g.compound(api.Field_Namespace, key), Field{"value.type", String(key)})
			continue
		}
		g.emit(evSetLinuxNamespace, g.compound(api.Field_Namespace, n.GetType()),
			Field{"value.path", String(n.GetPath())}, Field{"value.type", String(n.GetType())})
	}
}

func (g *gen) sysctl(m map[string]string) {
	for _, k := range sortedKeys(m) {
		if key, marked := api.IsMarkedForRemoval(k); marked {
			g.emit(evRemoveLinuxSysctl, g.compound(api.Field_Sysctl, key), Field{"value.key", String(key)})
			continue
		}
		g.emit(evSetLinuxSysctl, g.compound(api.Field_Sysctl, k),
			Field{"value.key", String(k)}, Field{"value.value", String(m[k])})
	}
}

func (g *gen) netDevices(m map[string]*api.LinuxNetDevice) {
	for _, k := range sortedKeys(m) {
		if key, marked := api.IsMarkedForRemoval(k); marked {
			g.emit(evRemoveLinuxNetDevice, g.compound(api.Field_LinuxNetDevices, key), Field{"value.hostif", String(key)})
			continue
		}
		g.emit(evAddLinuxNetDevice, g.compound(api.Field_LinuxNetDevices, k),
			Field{"value.containerif", NetDevice(m[k])}, Field{"value.hostif", String(k)})
	}
}

// resources follows Generator.AdjustResources. Memory reservation, swap,
// kernel, kernelTCP, swappiness, OOM-killer and hierarchy are not applied
// by the generator, so they have no line.
func (g *gen) resources(r *api.LinuxResources) {
	if r == nil {
		return
	}
	if c := r.GetCpu(); c != nil {
		if c.GetPeriod() != nil {
			g.emit(evSetLinuxCPUPeriod, g.simple(api.Field_CPUPeriod), Field{KeyValue, Uint(c.GetPeriod().GetValue())})
		}
		if c.GetQuota() != nil {
			g.emit(evSetLinuxCPUQuota, g.simple(api.Field_CPUQuota), Field{KeyValue, Int(c.GetQuota().GetValue())})
		}
		if c.GetShares() != nil {
			g.emit(evSetLinuxCPUShares, g.simple(api.Field_CPUShares), Field{KeyValue, Uint(c.GetShares().GetValue())})
		}
		if v := c.GetCpus(); v != "" {
			g.emit(evSetLinuxCPUSetCPUs, g.simple(api.Field_CPUSetCPUs), Field{KeyValue, String(v)})
		}
		if v := c.GetMems(); v != "" {
			g.emit(evSetLinuxCPUSetMems, g.simple(api.Field_CPUSetMems), Field{KeyValue, String(v)})
		}
		if c.GetRealtimeRuntime() != nil {
			g.emit(evSetLinuxCPURealtimeRuntime, g.simple(api.Field_CPURealtimeRuntime), Field{KeyValue, Int(c.GetRealtimeRuntime().GetValue())})
		}
		if c.GetRealtimePeriod() != nil {
			g.emit(evSetLinuxCPURealtimePeriod, g.simple(api.Field_CPURealtimePeriod), Field{KeyValue, Uint(c.GetRealtimePeriod().GetValue())})
		}
	}
	if l := r.GetMemory().GetLimit().GetValue(); l != 0 {
		g.emit(evSetLinuxMemLimit, g.simple(api.Field_MemLimit), Field{KeyValue, Int(l)})
		// The generator sets swap = limit and looks up the swap owner.
		g.emit(evSetLinuxMemSwapLimit, g.simple(api.Field_MemSwapLimit), Field{KeyValue, Int(l)})
	}
	for _, h := range r.GetHugepageLimits() {
		if h == nil {
			continue
		}
		g.emit(evSetLinuxHugepageLimit, g.compound(api.Field_HugepageLimits, h.GetPageSize()),
			Field{"value.limit", Uint(h.GetLimit())}, Field{"value.pagesize", String(h.GetPageSize())})
	}
	unified := r.GetUnified()
	for _, k := range sortedKeys(unified) {
		g.emit(evSetLinuxResourceUnified, g.compound(api.Field_CgroupsUnified, k),
			Field{"value.name", String(k)}, Field{"value.value", String(unified[k])})
	}
	if p := r.GetPids(); p != nil {
		g.emit(evSetLinuxPidsLimit, g.simple(api.Field_PidsLimit), Field{KeyValue, Int(p.GetLimit())})
	}
	// Legacy (NRI v1) device rules carry no owner.
	for _, d := range r.GetDevices() {
		if d == nil {
			continue
		}
		g.emit(evAddLinuxDeviceRule, noOwner,
			Field{"value.access", String(d.GetAccess())},
			Field{"value.allow", Bool(d.GetAllow())},
			Field{"value.major", IntPtr(d.GetMajor().Get())},
			Field{"value.minor", IntPtr(d.GetMinor().Get())},
			Field{"value.type", String(d.GetType())})
	}
}

// class logs a block I/O or RDT class: "" clears it.
func (g *gen) class(class *string, clear, set event, field api.Field) {
	switch {
	case class == nil:
	case *class == "":
		g.emit(clear, g.simple(field))
	default:
		g.emit(set, g.simple(field), Field{KeyValue, String(*class)})
	}
}

func (g *gen) rdt(r *api.LinuxRdt) {
	if r == nil {
		return
	}
	if r.GetRemove() {
		g.emit(evClearLinuxRdt, noOwner)
	}
	if v := r.GetClosId().Get(); v != nil {
		g.emit(evSetLinuxRdtClosID, g.simple(api.Field_RdtClosID), Field{KeyValue, String(*v)})
	}
	if v := r.GetSchemata().Get(); v != nil {
		g.emit(evSetLinuxRdtSchemata, g.simple(api.Field_RdtSchemata), Field{KeyValue, Strings(*v)})
	}
	if v := r.GetEnableMonitoring().Get(); v != nil {
		g.emit(evSetLinuxRdtMonitoring, g.simple(api.Field_RdtEnableMonitoring), Field{KeyValue, Bool(*v)})
	}
}

// mounts follows Generator.AdjustMounts: every added mount is first
// removed; a propagation option, once seen, stays in force for the mounts
// after it (the generator keeps it across the loop).
func (g *gen) mounts(mounts []*api.Mount) {
	propagation, root := "", ""
	for _, m := range mounts {
		if m == nil {
			continue
		}
		if dest, marked := m.IsMarkedForRemoval(); marked {
			g.emit(evRemoveMount, g.compound(api.Field_Mounts, dest), Field{"value.destination", String(dest)})
			continue
		}
		owner := g.compound(api.Field_Mounts, m.GetDestination())
		g.emit(evRemoveMount, owner, Field{"value.destination", String(m.GetDestination())})
		for _, o := range m.GetOptions() {
			if o == "rprivate" || o == "rshared" || o == "rslave" {
				propagation = o
			}
		}
		switch propagation {
		case "rshared":
			g.emit(evSetLinuxRootPropagation, owner, Field{KeyValue, String("rshared")})
			root = "rshared"
		case "rslave":
			if root != "rshared" && root != "rslave" {
				g.emit(evSetLinuxRootPropagation, owner, Field{KeyValue, String("rslave")})
				root = "rslave"
			}
		}
		g.emit(evAddMount, owner,
			Field{"value.destination", String(m.GetDestination())},
			Field{"value.options", String(strings.Join(m.GetOptions(), ","))},
			Field{"value.source", String(m.GetSource())},
			Field{"value.type", String(m.GetType())})
	}
}

func (g *gen) rlimits(rlimits []*api.POSIXRlimit) {
	for _, l := range rlimits {
		if l == nil {
			continue
		}
		g.emit(evAddProcessRlimits, g.compound(api.Field_Rlimits, l.GetType()),
			Field{"value.hard", Uint(l.GetHard())},
			Field{"value.soft", Uint(l.GetSoft())},
			Field{"value.type", String(l.GetType())})
	}
}
