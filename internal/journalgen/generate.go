package journalgen

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/nri-audit/nri-audit/audit"
)

// Plugins that own the generated adjustments, as the runtime logs them.
const (
	PluginDevices  = "10-device-injector"
	PluginLogger   = "05-logger"
	PluginResource = "90-resource-policy"
	PluginCDI      = "20-cdi-injector"
	PluginPolicy   = "10-policy"
	// HookOwners is a comma list: ClaimHooks accumulates owners.
	HookOwners = PluginLogger + "," + PluginDevices
)

// Options configure a Generator. The zero value gives 1000 entries starting
// at 2026-02-09T16:44:32Z on host worker-1.
type Options struct {
	// Entries is how many entries Next yields; 0 means 1000.
	Entries int
	// Start is the receive time of the first entry; zero means
	// 2026-02-09T16:44:32Z.
	Start time.Time
	// Interval is the time between two container creations; 0 means 200ms.
	// Lines of one creation are a few microseconds apart.
	Interval time.Duration
	// Seed makes the random choices; the same Options give the same entries.
	Seed uint64
	// Hostname, MachineID and BootID identify the host (defaults: worker-1
	// and fixed 32-hex-digit ids).
	Hostname, MachineID, BootID string
	// KubeletShare is the chance that a kubelet entry (excluded by the
	// default matches) follows a runtime entry; negative means none, 0
	// means 0.1.
	KubeletShare float64
	// NoCoverage skips the opening block that logs each of the 45 audit
	// messages once per log style.
	NoCoverage bool
}

// Stats count what a Generator produced, for tests to compare with what a
// reader or shipper saw.
type Stats struct {
	// Entries is the number of entries yielded.
	Entries int
	// Matching are the containerd and CRI-O entries (SYSLOG_IDENTIFIER
	// containerd or crio): what the default matches select.
	Matching int
	// Excluded are kubelet entries, which the default matches skip.
	Excluded int
	// Audit are lines with one of the 45 audit messages.
	Audit int
	// PluginErrors are error lines that name a plugin.
	PluginErrors int
	// Multiline are entries whose MESSAGE spans lines (export binary form).
	Multiline int
	// ByOwnerEvent counts audit lines by the nri.plugin value as logged
	// ("" when absent) and the event name.
	ByOwnerEvent map[[2]string]int
	// Events counts audit lines by event name.
	Events map[string]int
}

// Generator yields realistic containerd and CRI-O journal entries. It is
// deterministic for given Options and not safe for concurrent use.
type Generator struct {
	opts   Options
	rng    *rand.Rand
	events []audit.Event
	stats  Stats

	now       time.Time // receive time of the next entry
	boot      time.Time // boot time, for monotonic timestamps
	queue     []Entry
	creations int
	line      []byte
}

// New returns a Generator for opts.
func New(opts Options) *Generator {
	if opts.Entries == 0 {
		opts.Entries = 1000
	}
	if opts.Start.IsZero() {
		opts.Start = time.Date(2026, 2, 9, 16, 44, 32, 0, time.UTC)
	}
	if opts.Interval == 0 {
		opts.Interval = 200 * time.Millisecond
	}
	if opts.Hostname == "" {
		opts.Hostname = "worker-1"
	}
	if opts.MachineID == "" {
		opts.MachineID = "43de74c4fa4f4f42a4c7135659b796ab"
	}
	if opts.BootID == "" {
		opts.BootID = "41681935b56e4d14a0aa7c37b76e8663"
	}
	if opts.KubeletShare == 0 {
		opts.KubeletShare = 0.1
	}
	g := &Generator{
		opts:   opts,
		rng:    rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x6e72692d61756474)),
		events: audit.Events(),
		now:    opts.Start,
		boot:   opts.Start.Add(-26 * time.Hour),
	}
	g.stats.ByOwnerEvent = make(map[[2]string]int)
	g.stats.Events = make(map[string]int)
	return g
}

// Stats returns the counts so far.
func (g *Generator) Stats() Stats { return g.stats }

// Next fills e with the next entry. e's slices are replaced, not reused, so
// a caller may keep entries.
func (g *Generator) Next(e *Entry) bool {
	if g.stats.Entries >= g.opts.Entries {
		return false
	}
	for len(g.queue) == 0 {
		g.scenario()
	}
	*e = g.queue[0]
	g.queue = g.queue[1:]
	g.stats.Entries++
	switch id, _ := e.Get("SYSLOG_IDENTIFIER"); id {
	case "containerd", "crio":
		g.stats.Matching++
		g.count(e)
	default:
		g.stats.Excluded++
	}
	if m, _ := e.Get("MESSAGE"); strings.Contains(m, "\n") {
		g.stats.Multiline++
	}
	return true
}

// count classifies a yielded runtime entry for Stats from the data the
// generator attached (never by re-parsing the line).
func (g *Generator) count(e *Entry) {
	ev, _ := e.Get(metaEvent)
	if ev != "" {
		g.stats.Audit++
		g.stats.Events[ev]++
		owner, _ := e.Get(metaOwner)
		g.stats.ByOwnerEvent[[2]string{owner, ev}]++
	}
	if v, _ := e.Get(metaPluginError); v != "" {
		g.stats.PluginErrors++
	}
	e.Fields = stripMeta(e.Fields)
}

// Generator-internal bookkeeping fields, removed before an entry is yielded.
const (
	metaEvent       = "\x00event"
	metaOwner       = "\x00owner"
	metaPluginError = "\x00perr"
)

func stripMeta(fs []Field) []Field {
	out := fs[:0]
	for _, f := range fs {
		if !strings.HasPrefix(f.Name, "\x00") {
			out = append(out, f)
		}
	}
	return out
}

// container is what one creation is about.
type container struct {
	style     style
	ns, pod   string
	name      string
	sandbox   string // containerd sandbox id
	id        string // container id
	requestID string // CRI-O request id
}

func (g *Generator) hex(n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[g.rng.IntN(16)]
	}
	return string(b)
}

func (g *Generator) uuid() string {
	h := g.hex(32)
	return h[:8] + "-" + h[8:12] + "-4" + h[13:16] + "-9" + h[17:20] + "-" + h[20:]
}

var (
	namespaces = []string{"default", "kube-system", "payments", "ml-training", "monitoring"}
	podNames   = []string{"web", "api", "worker", "trainer", "exporter", "db"}
	ctrNames   = []string{"app", "sidecar", "init-config", "main"}
)

func (g *Generator) newContainer(s style) container {
	pod := podNames[g.rng.IntN(len(podNames))]
	return container{
		style:     s,
		ns:        namespaces[g.rng.IntN(len(namespaces))],
		pod:       pod + "-" + strconv.Itoa(g.rng.IntN(8)),
		name:      ctrNames[g.rng.IntN(len(ctrNames))],
		sandbox:   g.hex(64),
		id:        g.hex(64),
		requestID: g.uuid(),
	}
}

// scenario queues the entries of the next container creation (plus the
// occasional kubelet entry, error and panic).
func (g *Generator) scenario() {
	n := g.creations
	g.creations++
	g.now = g.opts.Start.Add(time.Duration(n) * g.opts.Interval)
	coverage := []style{containerdText, containerdJSON, crioText, crioTextOld, crioJSON}
	if !g.opts.NoCoverage && n < len(coverage) {
		c := g.newContainer(coverage[n])
		g.creating(c)
		for _, ev := range g.events {
			g.audit(c, ev.Name, false)
		}
		g.created(c)
		if n == 1 {
			g.pluginErrors(c, true)
		}
		return
	}
	if n%4000 == 7 {
		g.panicEntry()
	}
	var s style
	switch r := g.rng.IntN(100); {
	case r < 45:
		s = containerdText
	case r < 60:
		s = containerdJSON
	case r < 80:
		s = crioText
	case r < 92:
		s = crioTextOld
	default:
		s = crioJSON
	}
	c := g.newContainer(s)
	g.creating(c)
	switch r := g.rng.IntN(10); {
	case r < 3: // a GPU pod
		for _, ev := range []string{"AddAnnotation", "AddProcessEnv", "AddProcessEnv", "InjectCDIDevices",
			"RemoveLinuxDevice", "AddLinuxDevice", "AddLinuxDeviceRule", "SetLinuxCPUSetCPUs",
			"SetLinuxMemLimit", "SetLinuxMemSwapLimit", "RemoveMount", "AddMount"} {
			g.audit(c, ev, true)
		}
	case r < 5: // the logger sidecar
		for _, ev := range []string{"AddProcessEnv", "RemoveProcessEnv", "SetProcessArgs", "AddOCIHook",
			"SetLinuxSeccompPolicy"} {
			g.audit(c, ev, true)
		}
	case r < 8: // resource policy only
		for _, ev := range []string{"SetLinuxCPUShares", "SetLinuxCPUQuota", "SetLinuxCPUSetCPUs",
			"SetLinuxMemLimit", "SetLinuxMemSwapLimit", "SetProcessOOMScoreAdj", "SetLinuxPidsLimit",
			"AddProcessRlimits"} {
			g.audit(c, ev, true)
		}
	default: // no NRI adjustment at all
	}
	g.created(c)
	if g.rng.IntN(100) < 4 {
		g.pluginErrors(c, false)
	}
	if g.rng.IntN(3) == 0 {
		g.ordinary(c)
	}
}

// add queues an entry for the runtime of c with the given MESSAGE; extra
// are generator bookkeeping fields.
func (g *Generator) add(runtime, message string, extra ...Field) {
	g.now = g.now.Add(time.Duration(3+g.rng.IntN(9)) * time.Microsecond)
	pid, exe := "1043", "/usr/bin/containerd"
	stream, invocation := "beaceb8c1e84466481302a8a9c301e9a", "cbe1febb769f47d4bdfa66c975a08037"
	if runtime == "crio" {
		pid, exe = "2211", "/usr/bin/crio"
		stream, invocation = "0d6b1bc2c4e24cbf8a3be0f8e5f4a2b1", "5a1f0e2d3c4b4a5968778695a4b3c2d1"
	}
	fields := []Field{
		{"_BOOT_ID", g.opts.BootID},
		{"_MACHINE_ID", g.opts.MachineID},
		{"_HOSTNAME", g.opts.Hostname},
		{"PRIORITY", "6"},
		{"SYSLOG_FACILITY", "3"},
		{"SYSLOG_IDENTIFIER", runtime},
		{"_TRANSPORT", "stdout"},
		{"_STREAM_ID", stream},
		{"_PID", pid},
		{"_UID", "0"},
		{"_GID", "0"},
		{"_COMM", runtime},
		{"_EXE", exe},
		{"_CMDLINE", exe},
		{"_CAP_EFFECTIVE", "1ffffffffff"},
		{"_SYSTEMD_CGROUP", "/system.slice/" + runtime + ".service"},
		{"_SYSTEMD_UNIT", runtime + ".service"},
		{"_SYSTEMD_SLICE", "system.slice"},
		{"_SYSTEMD_INVOCATION_ID", invocation},
		{"MESSAGE", message},
	}
	g.queue = append(g.queue, Entry{
		Realtime:  g.now,
		Monotonic: g.now.Sub(g.boot),
		Fields:    append(fields, extra...),
	})
}

// log renders a logrus line for c and queues it. The line's own time is a
// little before journald receives it.
func (g *Generator) log(c container, level, msg string, kvs []kv, extra ...Field) {
	if c.style == crioText || c.style == crioTextOld || c.style == crioJSON {
		kvs = append(kvs, str("id", c.requestID), str("name", "/runtime.v1.RuntimeService/CreateContainer"))
	}
	lineTime := g.now.Add(time.Duration(g.rng.IntN(900)+100) * time.Nanosecond)
	g.line = renderLine(g.line[:0], c.style, lineTime, level, msg, kvs)
	g.add(c.style.runtime(), string(g.line), extra...)
	g.kubelet(c, kubeletLines[g.rng.IntN(len(kubeletLines))])
}

var kubeletLines = []string{
	`"SyncLoop UPDATE" source="api" pods=["default/web-0"]`,
	`"Probe failed" probeType="Readiness" pod="monitoring/exporter-1" containerName="main"`,
	`"RemoveContainer" containerID="4b6f2f4d7a10"`,
}

func (g *Generator) creating(c container) {
	if c.style.runtime() == "crio" {
		g.log(c, "info", "Creating container: "+c.ns+"/"+c.pod+"/"+c.name, nil)
		return
	}
	g.log(c, "info", fmt.Sprintf("CreateContainer within sandbox %q for container &ContainerMetadata{Name:%s,Attempt:0,}", c.sandbox, c.name), nil)
}

func (g *Generator) created(c container) {
	if c.style.runtime() == "crio" {
		g.log(c, "info", "Created container "+c.id+": "+c.ns+"/"+c.pod+"/"+c.name, nil)
		return
	}
	g.log(c, "info", fmt.Sprintf("CreateContainer within sandbox %q for &ContainerMetadata{Name:%s,Attempt:0,} returns container id %q", c.sandbox, c.name, c.id), nil)
}

func (g *Generator) ordinary(c container) {
	switch g.rng.IntN(4) {
	case 0:
		if c.style.runtime() == "crio" {
			g.log(c, "info", "Started container "+c.id+": "+c.ns+"/"+c.pod+"/"+c.name, nil)
		} else {
			g.log(c, "info", fmt.Sprintf("StartContainer for %q returns successfully", c.id), nil)
		}
	case 1:
		g.log(c, "info", `ImageCreate event name:"docker.io/library/nginx:1.27" labels:{key:"io.cri-containerd.image" value:"managed"}`, nil)
	case 2:
		g.log(c, "warning", "cleanup warnings", []kv{str("error", `time="2026-02-09T16:44:33Z" level=warning msg="failed to remove runc container" error="runc did not terminate successfully: exit status 255"`)})
	default:
		g.log(c, "info", "Pulled image", []kv{str("image", "registry.k8s.io/pause:3.10"), num("size", 320368)})
	}
}

// kubelet queues an entry the default matches must exclude.
func (g *Generator) kubelet(c container, text string) {
	if g.opts.KubeletShare < 0 || g.rng.Float64() >= g.opts.KubeletShare {
		return
	}
	g.now = g.now.Add(7 * time.Microsecond)
	t := g.now.UTC()
	msg := fmt.Sprintf("I%s    1500 kubelet.go:2414] %s", t.Format("0102 15:04:05.000000"), text)
	g.queue = append(g.queue, Entry{Realtime: g.now, Monotonic: g.now.Sub(g.boot), Fields: []Field{
		{"_BOOT_ID", g.opts.BootID}, {"_MACHINE_ID", g.opts.MachineID}, {"_HOSTNAME", g.opts.Hostname},
		{"PRIORITY", "6"}, {"SYSLOG_IDENTIFIER", "kubelet"}, {"_TRANSPORT", "stdout"},
		{"_PID", "1500"}, {"_COMM", "kubelet"}, {"_SYSTEMD_UNIT", "kubelet.service"},
		{"MESSAGE", msg},
	}})
}

// pluginErrors queues error lines that name plugins; all of them when all.
func (g *Generator) pluginErrors(c container, all bool) {
	perr := Field{metaPluginError, "1"}
	kinds := []int{g.rng.IntN(4)}
	if all {
		kinds = []int{0, 1, 2, 3}
	}
	for _, k := range kinds {
		switch k {
		case 0:
			g.log(c, "error", fmt.Sprintf("RunPodSandbox for &PodSandboxMetadata{Name:%s,Uid:%s,Namespace:%s,Attempt:0,} failed, error", c.pod, g.uuid(), c.ns),
				[]kv{str("error", `NRI RunPodSandbox failed: plugin "`+PluginPolicy+`": rpc error: code = Unknown desc = policy check failed: pod not allowed`)}, perr)
		case 1:
			g.log(c, "error", fmt.Sprintf("CreateContainer within sandbox %q for &ContainerMetadata{Name:%s,Attempt:0,} failed", c.sandbox, c.name),
				[]kv{str("error", `failed to get NRI adjustment for container: plugins "`+PluginDevices+`" and "`+PluginResource+`" both tried to set Env FOO`)}, perr)
		case 2:
			g.log(c, "error", fmt.Sprintf("CreateContainer within sandbox %q for &ContainerMetadata{Name:%s,Attempt:0,} failed", c.sandbox, c.name),
				[]kv{str("error", `failed to validate container adjustment: validator "`+PluginPolicy+`" rejected container adjustment, reason: privileged containers are not allowed`)}, perr)
		default:
			g.log(c, "warning", "plugin "+PluginLogger+" failed to handle CreateContainer request, proceeding without it: context deadline exceeded", nil, perr)
		}
	}
}

// panicEntry queues a multi-line MESSAGE, written in the export binary form.
func (g *Generator) panicEntry() {
	msg := "panic: runtime error: invalid memory address or nil pointer dereference\n" +
		"[signal SIGSEGV: segmentation violation code=0x1 addr=0x18 pc=0x55d5c0]\n\n" +
		"goroutine 1 [running]:\n" +
		"github.com/containerd/containerd/v2/internal/cri/server.(*criService).CreateContainer(0xc000123400)\n" +
		"\t/go/src/github.com/containerd/containerd/internal/cri/server/container_create.go:120 +0x5a"
	g.add("containerd", msg)
}

var (
	cpusets  = []string{"2-3", "0-1", "4-7", "1,3"}
	memLimit = []int64{268435456, 536870912, 1073741824}
)

// audit queues one audit line for event name, as plugins would cause it.
// random picks owner variants (removal markers, unknown) at random.
func (g *Generator) audit(c container, name string, random bool) {
	owner := PluginResource
	var kvs []kv
	switch name {
	case "RemoveProcessEnv":
		owner = "-" + PluginLogger
		kvs = []kv{str("value.name", "HOSTNAME")}
	case "AddProcessEnv":
		switch r := g.rng.IntN(3); {
		case r == 0 || !random && c.style == containerdText:
			owner = audit.UnknownOwner
			kvs = []kv{str("value.name", "PATH"), str("value.value", "/usr/local/sbin:/usr/bin")}
		case r == 1:
			owner = PluginDevices
			kvs = []kv{str("value.name", "DB_PASSWORD"), str("value.value", "<value omitted>")}
		default:
			owner = PluginDevices
			kvs = []kv{str("value.name", "NVIDIA_VISIBLE_DEVICES"), str("value.value", "all")}
		}
	case "SetProcessArgs":
		owner = PluginLogger
		kvs = []kv{str("args", "/bin/sh -c sleep 1000")}
	case "RemoveAnnotation":
		owner = "-" + PluginDevices
		kvs = []kv{str("value.key", "old.example.com/x")}
	case "AddAnnotation":
		owner = PluginDevices
		kvs = []kv{str("value.key", "devices.example.com/gpu"), str("value.value", "0")}
	case "AddOCIHook":
		owner = HookOwners
		kvs = []kv{str("value.path", "/usr/local/bin/gpu-hook"), str("value.type", "PreStart")}
	case "SetLinuxCPUPeriod":
		kvs = []kv{unum("value", 100000)}
	case "SetLinuxCPUQuota":
		kvs = []kv{num("value", 50000)}
	case "SetLinuxCPUShares":
		kvs = []kv{unum("value", 1024)}
	case "SetLinuxCPUSetCPUs":
		kvs = []kv{str("value", cpusets[g.rng.IntN(len(cpusets))])}
	case "SetLinuxCPUSetMems":
		kvs = []kv{str("value", "0")}
	case "SetLinuxCPURealtimeRuntime":
		kvs = []kv{num("value", 950000)}
	case "SetLinuxCPURealtimePeriod":
		kvs = []kv{unum("value", 1000000)}
	case "SetLinuxMemLimit":
		kvs = []kv{num("value", memLimit[g.rng.IntN(len(memLimit))])}
	case "SetLinuxMemSwapLimit":
		owner = audit.UnknownOwner
		kvs = []kv{num("value", 536870912)}
	case "SetLinuxHugepageLimit":
		kvs = []kv{str("value.pagesize", "2MB"), unum("value.limit", 4194304)}
	case "SetLinuxResourceUnified":
		kvs = []kv{str("value.name", "memory.high"), str("value.value", "400M")}
	case "SetLinuxPidsLimit":
		kvs = []kv{num("value", 4096)}
	case "ClearLinuxBlkioClass", "ClearLinuxRdtClass":
	case "SetLinuxBlkioClass":
		kvs = []kv{str("value", "throttled")}
	case "SetLinuxRdtClass":
		kvs = []kv{str("value", "gold")}
	case "ClearLinuxRdt":
		owner = "" // logged with nil fields
	case "SetLinuxRdtClosID":
		kvs = []kv{str("value", "clos1")}
	case "SetLinuxRdtSchemata":
		kvs = []kv{list("value", "L3:0=ff", "MB:0=50")}
	case "SetLinuxRdtMonitoring":
		kvs = []kv{boolean("value", true)}
	case "SetLinuxCgroupsPath":
		kvs = []kv{str("value", "/kubepods/burstable/pod"+c.requestID[:8])}
	case "SetProcessOOMScoreAdj":
		kvs = []kv{num("value", -998)}
	case "SetLinuxIOPriority":
		kvs = []kv{str("value.class", "IOPRIO_CLASS_BE"), num("value.priority", 4)}
	case "SetLinuxSeccompPolicy":
		owner = PluginLogger
	case "RemoveLinuxNamespace":
		owner = "-" + PluginResource
		kvs = []kv{str("value.type", "ipc")}
	case "SetLinuxNamespace":
		kvs = []kv{str("value.type", "network"), str("value.path", "/var/run/netns/cni-1234")}
	case "RemoveLinuxSysctl":
		owner = "-" + PluginResource
		kvs = []kv{str("value.key", "net.ipv4.ip_forward")}
	case "SetLinuxSysctl":
		kvs = []kv{str("value.key", "net.core.somaxconn"), str("value.value", "4096")}
	case "SetLinuxScheduler":
		kvs = []kv{str("value.policy", "SCHED_FIFO"), num("value.nice", 0), num("value.priority", 10),
			unum("value.runtime", 0), unum("value.deadline", 0), unum("value.period", 0)}
	case "RemoveLinuxDevice":
		owner = PluginDevices
		kvs = []kv{str("value.path", "/dev/nvidia0")}
	case "AddLinuxDevice":
		owner = PluginDevices
		kvs = []kv{str("value.path", "/dev/nvidia0"), str("value.type", "c"), num("value.major", 195), num("value.minor", 0)}
	case "AddLinuxDeviceRule":
		owner = PluginDevices
		kvs = []kv{boolean("value.allow", true), str("value.type", "c"), num("value.major", 195), num("value.minor", 0), str("value.access", "rw")}
		if !random && c.style == containerdJSON || random && g.rng.IntN(5) == 0 {
			// Legacy rule from LinuxResources.devices: no owner, *int64 values.
			owner = ""
			major := int64(10)
			kvs = []kv{boolean("value.allow", false), str("value.type", "a"), ptr("value.major", 0x3ecf80914538, &major),
				ptr("value.minor", 0, nil), str("value.access", "rwm")}
		}
	case "RemoveLinuxNetDevice":
		owner = "-" + PluginDevices
		kvs = []kv{str("value.hostif", "eth2")}
	case "AddLinuxNetDevice":
		owner = PluginDevices
		kvs = []kv{str("value.hostif", "eth1"), proto("value.containerif", "name", "net1")}
	case "InjectCDIDevices":
		owner = PluginDevices + "," + PluginCDI
		kvs = []kv{str("value", "vendor.com/gpu=0,vendor.com/nic=1")}
	case "AddProcessRlimits":
		kvs = []kv{str("value.type", "RLIMIT_NOFILE"), unum("value.soft", 1024), unum("value.hard", 65536)}
	case "RemoveMount":
		owner = PluginDevices
		kvs = []kv{str("value.destination", "/data")}
	case "AddMount":
		owner = PluginDevices
		kvs = []kv{str("value.destination", "/data"), str("value.source", "/mnt/data"), str("value.type", "bind"), str("value.options", "rbind,ro")}
	case "SetLinuxRootPropagation":
		owner = PluginDevices
		kvs = []kv{str("value", "rslave")}
	default:
		kvs = []kv{str("value", "x")}
	}
	ev := g.event(name)
	if ev == nil {
		return
	}
	if owner != "" {
		kvs = append(kvs, str("nri.plugin", owner))
	}
	g.log(c, "info", ev.Message, kvs,
		Field{metaEvent, ev.Name}, Field{metaOwner, owner})
}

func (g *Generator) event(name string) *audit.Event {
	for i := range g.events {
		if g.events[i].Name == name {
			return &g.events[i]
		}
	}
	return nil
}
