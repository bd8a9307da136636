package adjustlog

import (
	"strings"
	"testing"
	"time"

	"github.com/containerd/nri/pkg/api"
)

// owners builds FieldOwners as the runtime's result collection does.
type owners struct{ f *api.FieldOwners }

func newOwners() owners { return owners{api.NewFieldOwners()} }

func (o owners) simple(f api.Field, plugin string) owners {
	o.f.Simple[int32(f)] = plugin
	return o
}

func (o owners) compound(f api.Field, key, plugin string) owners {
	c, ok := o.f.Compound[int32(f)]
	if !ok {
		c = api.NewCompoundFieldOwners()
		o.f.Compound[int32(f)] = c
	}
	c.Owners[key] = plugin
	return o
}

const ctrID = "3f9c0c2b1e7d"

func request(ctr *api.Container, adj *api.ContainerAdjustment, o owners) *api.ValidateContainerAdjustmentRequest {
	ctr.Id = ctrID
	op := api.NewOwningPlugins()
	op.Owners[ctrID] = o.f
	return &api.ValidateContainerAdjustmentRequest{
		Pod:       &api.PodSandbox{Id: "pod-1", Name: "web-0", Namespace: "default", Uid: "0c6e2c7e-1a8e-4d8e-9a53-6a1f1d0c2b11"},
		Container: ctr,
		Adjust:    adj,
		Owners:    op,
	}
}

// docRequest is the adjustment behind the example lines of the format doc
// §5.1.
func docRequest() *api.ValidateContainerAdjustmentRequest {
	adj := &api.ContainerAdjustment{}
	adj.AddAnnotation("devices.example.com/gpu", "0")
	adj.RemoveAnnotation("old.example.com/x")
	adj.RemoveEnv("HOSTNAME")
	adj.AddEnv("DB_PASSWORD", "s3cret")
	adj.AddEnv("NEW_TOKEN", "tok-123")
	adj.SetArgs([]string{"/bin/sh", "-c", "sleep 1000"})
	adj.AddHooks(&api.Hooks{Prestart: []*api.Hook{{Path: "/usr/local/bin/gpu-hook"}}})
	adj.AddCDIDevice(&api.CDIDevice{Name: "vendor.com/gpu=0"})
	adj.AddDevice(&api.LinuxDevice{Path: "/dev/nvidia0", Type: "c", Major: 195, Minor: 0})
	score := -998
	adj.SetLinuxOomScoreAdj(&score)
	adj.SetLinuxIOPriority(&api.LinuxIOPriority{Class: api.IOPrioClass_IOPRIO_CLASS_BE, Priority: 4})
	adj.SetLinuxScheduler(&api.LinuxScheduler{Policy: api.LinuxSchedulerPolicy_SCHED_FIFO, Priority: 10})
	adj.SetLinuxSeccompPolicy(&api.LinuxSeccomp{DefaultAction: "SCMP_ACT_ALLOW"})
	adj.AddOrReplaceNamespace(&api.LinuxNamespace{Type: "network", Path: "/var/run/netns/cni-1234"})
	adj.SetLinuxSysctl("net.core.somaxconn", "4096")
	adj.AddLinuxNetDevice("eth1", &api.LinuxNetDevice{Name: "net1"})
	adj.SetLinuxCPUSetCPUs("2-3")
	adj.SetLinuxMemoryLimit(536870912)
	adj.AddLinuxHugepageLimit("2MB", 4194304)
	adj.AddLinuxUnified("memory.high", "400M")
	adj.RemoveLinuxRDT()
	adj.SetLinuxRDTSchemata([]string{"L3:0=ff", "MB:0=50"})
	adj.AddMount(&api.Mount{Destination: "/data", Source: "/mnt/data", Type: "bind", Options: []string{"rbind", "ro"}})
	adj.AddRlimit("RLIMIT_NOFILE", 65536, 1024)
	// SetLinuxRDTSchemata after RemoveLinuxRDT keeps Remove set: the
	// runtime's result collection would clear it; keep it to cover the line.
	adj.Linux.Rdt.Remove = true

	o := newOwners().
		compound(api.Field_Annotations, "devices.example.com/gpu", "10-device-injector").
		compound(api.Field_Annotations, "old.example.com/x", "-10-device-injector").
		compound(api.Field_Env, "HOSTNAME", "-05-logger").
		compound(api.Field_Env, "DB_PASSWORD", "10-device-injector").
		compound(api.Field_Env, "NEW_TOKEN", "10-device-injector").
		simple(api.Field_Args, "05-logger").
		simple(api.Field_OciHooks, "10-a,11-b").
		compound(api.Field_CdiDevices, "vendor.com/gpu=0", "10-device-injector").
		compound(api.Field_Devices, "/dev/nvidia0", "10-device-injector").
		simple(api.Field_OomScoreAdj, "90-resource-policy").
		simple(api.Field_IoPriority, "90-resource-policy").
		simple(api.Field_LinuxSched, "90-resource-policy").
		simple(api.Field_SeccompPolicy, "05-logger").
		compound(api.Field_Namespace, "network", "90-resource-policy").
		compound(api.Field_Sysctl, "net.core.somaxconn", "90-resource-policy").
		compound(api.Field_LinuxNetDevices, "eth1", "10-device-injector").
		simple(api.Field_CPUSetCPUs, "90-resource-policy").
		simple(api.Field_MemLimit, "90-resource-policy").
		compound(api.Field_HugepageLimits, "2MB", "90-resource-policy").
		compound(api.Field_CgroupsUnified, "memory.high", "90-resource-policy").
		simple(api.Field_RdtSchemata, "90-resource-policy").
		compound(api.Field_Mounts, "/data", "10-device-injector").
		compound(api.Field_Rlimits, "RLIMIT_NOFILE", "90-resource-policy")
	ctr := &api.Container{
		Name: "app",
		Env:  []string{"PATH=/usr/local/sbin:/usr/bin", "HOSTNAME=web-0", "DB_PASSWORD=old"},
	}
	return request(ctr, adj, o)
}

// docLines are the format doc's §5.1 lines (PoC output) without their
// time.
var docLines = []string{
	// Annotations are a map, logged in random order by the runtime; Build
	// sorts the keys, and "-old..." (removal) sorts first.
	`level=info msg="remove annotation" nri.plugin=-10-device-injector value.key=old.example.com/x`,
	`level=info msg="add annotation" nri.plugin=10-device-injector value.key=devices.example.com/gpu value.value=0`,
	`level=info msg="add environment variable" nri.plugin=unknown value.name=PATH value.value="/usr/local/sbin:/usr/bin"`,
	`level=info msg="remove environment variable" nri.plugin=-05-logger value.name=HOSTNAME`,
	`level=info msg="add environment variable" nri.plugin=10-device-injector value.name=DB_PASSWORD value.value="<value omitted>"`,
	`level=info msg="add environment variable" nri.plugin=10-device-injector value.name=NEW_TOKEN value.value=tok-123`,
	`level=info msg="set process arguments" args="/bin/sh -c sleep 1000" nri.plugin=05-logger`,
	`level=info msg="add OCI hook" nri.plugin="10-a,11-b" value.path=/usr/local/bin/gpu-hook value.type=PreStart`,
	`level=info msg="inject CDI devices" nri.plugin=10-device-injector value="vendor.com/gpu=0"`,
	`level=info msg="remove linux device" nri.plugin=10-device-injector value.path=/dev/nvidia0`,
	`level=info msg="add linux device" nri.plugin=10-device-injector value.major=195 value.minor=0 value.path=/dev/nvidia0 value.type=c`,
	`level=info msg="add linux device rule" nri.plugin=10-device-injector value.access=rw value.allow=true value.major=195 value.minor=0 value.type=c`,
	`level=info msg="set process OOM score adjustment" nri.plugin=90-resource-policy value=-998`,
	`level=info msg="set process IO priority" nri.plugin=90-resource-policy value.class=IOPRIO_CLASS_BE value.priority=4`,
	`level=info msg="set linux scheduler" nri.plugin=90-resource-policy value.deadline=0 value.nice=0 value.period=0 value.policy=SCHED_FIFO value.priority=10 value.runtime=0`,
	`level=info msg="set linux seccomp policy" nri.plugin=05-logger`,
	`level=info msg="set linux namespace" nri.plugin=90-resource-policy value.path=/var/run/netns/cni-1234 value.type=network`,
	`level=info msg="set linux sysctl" nri.plugin=90-resource-policy value.key=net.core.somaxconn value.value=4096`,
	`level=info msg="add linux net device" nri.plugin=10-device-injector value.containerif="name:\"net1\"" value.hostif=eth1`,
	`level=info msg="set linux cpuset CPUs" nri.plugin=90-resource-policy value=2-3`,
	`level=info msg="set linux memory limit" nri.plugin=90-resource-policy value=536870912`,
	`level=info msg="set linux swap limit" nri.plugin=unknown value=536870912`,
	`level=info msg="set linux hugepage limit" nri.plugin=90-resource-policy value.limit=4194304 value.pagesize=2MB`,
	`level=info msg="set linux cgroups unified resource" nri.plugin=90-resource-policy value.name=memory.high value.value=400M`,
	`level=info msg="clear linux RDT"`,
	`level=info msg="set linux RDT schemata" nri.plugin=90-resource-policy value="[L3:0=ff MB:0=50]"`,
	`level=info msg="remove mount" nri.plugin=10-device-injector value.destination=/data`,
	`level=info msg="add mount" nri.plugin=10-device-injector value.destination=/data value.options="rbind,ro" value.source=/mnt/data value.type=bind`,
	`level=info msg="add process rlimits" nri.plugin=90-resource-policy value.hard=65536 value.soft=1024 value.type=RLIMIT_NOFILE`,
}

var docTime = time.Date(2026, 2, 9, 16, 44, 32, 545908121, time.UTC)

func fixedClock() time.Time { return docTime }

func mustBuilder(t testing.TB, o Options) *Builder {
	t.Helper()
	b, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func texts(lines []Line) []string {
	out := make([]string, len(lines))
	for i := range lines {
		s := string(lines[i].AppendText(nil))
		out[i] = strings.TrimPrefix(s, `time="2026-02-09T16:44:32.545908121Z" `)
	}
	return out
}

func compare(t *testing.T, got, want []string) {
	t.Helper()
	n := max(len(got), len(want))
	for i := 0; i < n; i++ {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			t.Errorf("line %d\n got: %s\nwant: %s", i, g, w)
		}
	}
}

// With the PoC's env behavior (clear values, untouched variables) and no
// identity, the lines are the format doc's, byte for byte.
func TestBuildReproducesFormatDoc(t *testing.T) {
	b := mustBuilder(t, Options{ClearEnvValues: true, UnchangedEnv: true})
	lines := b.Build(nil, docRequest(), Identity{}, fixedClock)
	compare(t, texts(lines), docLines)
	for _, l := range lines {
		if l.Event == "" || l.Msg == "" {
			t.Errorf("line without catalog entry: %+v", l)
		}
	}
}

func TestBuildDefaultsRedactAndAddIdentity(t *testing.T) {
	b := mustBuilder(t, Options{})
	req := docRequest()
	lines := b.Build(nil, req, IdentityOf(req, "containerd"), fixedClock)
	id := `container.id=3f9c0c2b1e7d container.name=app`
	pod := `pod.name=web-0 pod.namespace=default pod.uid=0c6e2c7e-1a8e-4d8e-9a53-6a1f1d0c2b11 runtime.name=containerd`
	want := []string{
		`level=info msg="remove annotation" ` + id + ` nri.plugin=-10-device-injector ` + pod + ` value.key=old.example.com/x`,
		`level=info msg="add annotation" ` + id + ` nri.plugin=10-device-injector ` + pod + ` value.key=devices.example.com/gpu value.value=0`,
		// PATH is untouched: no line.
		`level=info msg="remove environment variable" ` + id + ` nri.plugin=-05-logger ` + pod + ` value.name=HOSTNAME`,
		`level=info msg="add environment variable" ` + id + ` nri.plugin=10-device-injector ` + pod + ` value.name=DB_PASSWORD value.value="<value omitted>"`,
		`level=info msg="add environment variable" ` + id + ` nri.plugin=10-device-injector ` + pod + ` value.name=NEW_TOKEN value.value="<redacted>"`,
		`level=info msg="set process arguments" args="/bin/sh -c sleep 1000" ` + id + ` nri.plugin=05-logger ` + pod,
	}
	compare(t, texts(lines[:len(want)]), want)
	if got := len(lines); got != len(docLines)-1 {
		t.Errorf("got %d lines, want %d", got, len(docLines)-1)
	}
	last := string(lines[len(lines)-1].AppendJSON(nil))
	wantJSON := `{"container.id":"3f9c0c2b1e7d","container.name":"app","level":"info","msg":"add process rlimits","nri.plugin":"90-resource-policy",` +
		`"pod.name":"web-0","pod.namespace":"default","pod.uid":"0c6e2c7e-1a8e-4d8e-9a53-6a1f1d0c2b11","runtime.name":"containerd",` +
		`"time":"2026-02-09T16:44:32.545908121Z","value.hard":65536,"value.soft":1024,"value.type":"RLIMIT_NOFILE"}`
	if last != wantJSON {
		t.Errorf("JSON\n got: %s\nwant: %s", last, wantJSON)
	}
}

func TestBuildEdgeCases(t *testing.T) {
	b := mustBuilder(t, Options{})
	ptr := func(i int64) *api.OptionalInt64 { return &api.OptionalInt64{Value: i} }
	tests := []struct {
		name string
		ctr  *api.Container
		adj  *api.ContainerAdjustment
		o    owners
		want []string
	}{
		{
			name: "no adjustment",
			adj:  nil,
		},
		{
			name: "missing owners are unknown",
			adj: func() *api.ContainerAdjustment {
				a := &api.ContainerAdjustment{}
				a.SetLinuxCgroupsPath("/kubepods/x")
				a.AddEnv("EMPTY", "")
				return a
			}(),
			want: []string{
				`level=info msg="add environment variable" nri.plugin=unknown value.name=EMPTY value.value=`,
				`level=info msg="set linux cgroups path" nri.plugin=unknown value=/kubepods/x`,
			},
		},
		{
			name: "removing an absent env variable logs nothing",
			ctr:  &api.Container{Env: []string{"A=1", "novalue"}},
			adj: func() *api.ContainerAdjustment {
				a := &api.ContainerAdjustment{}
				a.RemoveEnv("B")
				return a
			}(),
		},
		{
			name: "device removal, CDI owners, blkio and RDT classes, legacy rules",
			adj: &api.ContainerAdjustment{
				CDIDevices: []*api.CDIDevice{{Name: "a.com/gpu=0"}, {Name: "b.com/nic=1"}},
				Linux: &api.LinuxContainerAdjustment{
					Devices: []*api.LinuxDevice{{Path: "-/dev/fuse"}, {Path: "/dev/sda", Type: "b", Major: 8}},
					Resources: &api.LinuxResources{
						BlockioClass: &api.OptionalString{Value: ""},
						RdtClass:     &api.OptionalString{Value: "gold"},
						Pids:         &api.LinuxPids{Limit: -1},
						Devices: []*api.LinuxDeviceCgroup{
							{Allow: false, Type: "a", Major: ptr(10), Access: "rwm"},
						},
						Cpu: &api.LinuxCPU{
							Shares: &api.OptionalUInt64{Value: 512}, Quota: ptr(-1), Period: &api.OptionalUInt64{Value: 100000},
							RealtimeRuntime: ptr(950), RealtimePeriod: &api.OptionalUInt64{Value: 1000}, Mems: "0",
						},
					},
					Rdt: &api.LinuxRdt{ClosId: &api.OptionalString{Value: "c1"}, EnableMonitoring: &api.OptionalBool{Value: true}},
				},
			},
			o: newOwners().
				compound(api.Field_CdiDevices, "a.com/gpu=0", "10-a").
				compound(api.Field_Devices, "/dev/fuse", "-20-b").
				compound(api.Field_Devices, "/dev/sda", "20-b").
				simple(api.Field_BlockioClass, "30-c").
				simple(api.Field_RdtClosID, "30-c"),
			want: []string{
				`level=info msg="inject CDI devices" nri.plugin="10-a,unknown" value="a.com/gpu=0,b.com/nic=1"`,
				`level=info msg="remove linux device" nri.plugin=-20-b value.path=/dev/fuse`,
				`level=info msg="remove linux device" nri.plugin=20-b value.path=/dev/sda`,
				`level=info msg="add linux device" nri.plugin=20-b value.major=8 value.minor=0 value.path=/dev/sda value.type=b`,
				`level=info msg="add linux device rule" nri.plugin=20-b value.access=rwm value.allow=true value.major=8 value.minor=0 value.type=b`,
				`level=info msg="set linux CPU period" nri.plugin=unknown value=100000`,
				`level=info msg="set linux CPU quota" nri.plugin=unknown value=-1`,
				`level=info msg="set linux CPU shares" nri.plugin=unknown value=512`,
				`level=info msg="set linux cpuset mems" nri.plugin=unknown value=0`,
				`level=info msg="set linux cpu realtime runtime" nri.plugin=unknown value=950`,
				`level=info msg="set linux cpu realtime period" nri.plugin=unknown value=1000`,
				`level=info msg="set linux PIDs limit" nri.plugin=unknown value=-1`,
				`level=info msg="add linux device rule" value.access=rwm value.allow=false value.major=10 value.minor="<nil>" value.type=a`,
				`level=info msg="clear linux blkio class" nri.plugin=30-c`,
				`level=info msg="set linux RDT class" nri.plugin=unknown value=gold`,
				`level=info msg="set linux RDT CLOS ID" nri.plugin=30-c value=c1`,
				`level=info msg="set linux RDT monitoring" nri.plugin=unknown value=true`,
			},
		},
		{
			name: "mount removal and root propagation",
			adj: &api.ContainerAdjustment{Mounts: []*api.Mount{
				{Destination: "-/old"},
				{Destination: "/a", Source: "/s", Type: "bind", Options: []string{"rbind", "rslave"}},
				{Destination: "/b", Source: "/s", Type: "bind", Options: []string{"rshared"}},
				{Destination: "/c", Type: "tmpfs"},
				{Destination: "/d", Options: []string{"rslave"}},
			}},
			o: newOwners().compound(api.Field_Mounts, "/old", "-10-x").compound(api.Field_Mounts, "/a", "10-x"),
			want: []string{
				`level=info msg="remove mount" nri.plugin=-10-x value.destination=/old`,
				`level=info msg="remove mount" nri.plugin=10-x value.destination=/a`,
				`level=info msg="set linux root propagation" nri.plugin=10-x value=rslave`,
				`level=info msg="add mount" nri.plugin=10-x value.destination=/a value.options="rbind,rslave" value.source=/s value.type=bind`,
				`level=info msg="remove mount" nri.plugin=unknown value.destination=/b`,
				`level=info msg="set linux root propagation" nri.plugin=unknown value=rshared`,
				`level=info msg="add mount" nri.plugin=unknown value.destination=/b value.options=rshared value.source=/s value.type=bind`,
				// the generator keeps the last propagation for later mounts
				`level=info msg="remove mount" nri.plugin=unknown value.destination=/c`,
				`level=info msg="set linux root propagation" nri.plugin=unknown value=rshared`,
				`level=info msg="add mount" nri.plugin=unknown value.destination=/c value.options= value.source= value.type=tmpfs`,
				`level=info msg="remove mount" nri.plugin=unknown value.destination=/d`,
				`level=info msg="add mount" nri.plugin=unknown value.destination=/d value.options=rslave value.source= value.type=`,
			},
		},
		{
			name: "sorted maps, namespace and sysctl and net device removal, hooks of every kind",
			adj: &api.ContainerAdjustment{
				Annotations: map[string]string{"b": "2", "-a": "", "a": "1"},
				Hooks: &api.Hooks{
					Poststop: []*api.Hook{{Path: "/stop"}}, StartContainer: []*api.Hook{{Path: "/start"}},
					CreateRuntime: []*api.Hook{{Path: "/cr"}}, Poststart: []*api.Hook{{Path: "/ps"}}, CreateContainer: []*api.Hook{{Path: "/cc"}},
				},
				Linux: &api.LinuxContainerAdjustment{
					Namespaces: []*api.LinuxNamespace{{Type: "-ipc"}, nil},
					Sysctl:     map[string]string{"-net.x": "", "kernel.y": "1"},
					NetDevices: map[string]*api.LinuxNetDevice{"-eth9": nil, "eth2": {}},
				},
			},
			want: []string{
				`level=info msg="remove annotation" nri.plugin=unknown value.key=a`,
				`level=info msg="add annotation" nri.plugin=unknown value.key=a value.value=1`,
				`level=info msg="add annotation" nri.plugin=unknown value.key=b value.value=2`,
				`level=info msg="add OCI hook" nri.plugin=unknown value.path=/ps value.type=PostStart`,
				`level=info msg="add OCI hook" nri.plugin=unknown value.path=/stop value.type=PostStop`,
				`level=info msg="add OCI hook" nri.plugin=unknown value.path=/cr value.type=CreateRuntime`,
				`level=info msg="add OCI hook" nri.plugin=unknown value.path=/cc value.type=CreateContainer`,
				`level=info msg="add OCI hook" nri.plugin=unknown value.path=/start value.type=StartContainer`,
				`level=info msg="remove linux namespace" nri.plugin=unknown value.type=ipc`,
				`level=info msg="remove linux sysctl" nri.plugin=unknown value.key=net.x`,
				`level=info msg="set linux sysctl" nri.plugin=unknown value.key=kernel.y value.value=1`,
				`level=info msg="remove linux net device" nri.plugin=unknown value.hostif=eth9`,
				`level=info msg="add linux net device" nri.plugin=unknown value.containerif= value.hostif=eth2`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctr := tt.ctr
			if ctr == nil {
				ctr = &api.Container{}
			}
			o := tt.o
			if o.f == nil {
				o = newOwners()
			}
			lines := b.Build(nil, request(ctr, tt.adj, o), Identity{}, fixedClock)
			compare(t, texts(lines), tt.want)
		})
	}
}

func TestBuildWithoutOwnersOrContainer(t *testing.T) {
	b := mustBuilder(t, Options{})
	adj := &api.ContainerAdjustment{Args: []string{"x"}}
	for _, req := range []*api.ValidateContainerAdjustmentRequest{
		{Adjust: adj},
		{Adjust: adj, Container: &api.Container{Id: "c"}},
		{Adjust: adj, Container: &api.Container{Id: "c"}, Owners: &api.OwningPlugins{}},
	} {
		got := texts(b.Build(nil, req, IdentityOf(req, ""), nil))
		want := []string{`level=info msg="set process arguments" args=x nri.plugin=unknown`}
		if req.Container != nil {
			want[0] = `level=info msg="set process arguments" args=x container.id=c nri.plugin=unknown`
		}
		// the time comes from time.Now: drop it
		for i := range got {
			_, got[i], _ = strings.Cut(got[i], " ")
		}
		compare(t, got, want)
	}
	if got := b.Build(nil, nil, Identity{}, nil); len(got) != 0 {
		t.Errorf("nil request gave %d lines", len(got))
	}
}

// Build writes fields in key order without sorting; every emit site must
// pass its value keys in order.
func TestBuildNeedsNoSort(t *testing.T) {
	b := mustBuilder(t, Options{UnchangedEnv: true})
	req := docRequest()
	adj := req.Adjust
	adj.Linux.Resources.Devices = []*api.LinuxDeviceCgroup{{Type: "a"}}
	adj.Linux.Resources.Pids = &api.LinuxPids{Limit: 1}
	adj.Linux.CgroupsPath = "/x"
	adj.Linux.Rdt.ClosId = &api.OptionalString{Value: "c"}
	adj.Linux.Rdt.EnableMonitoring = &api.OptionalBool{Value: true}
	adj.Linux.Namespaces = append(adj.Linux.Namespaces, &api.LinuxNamespace{Type: "-ipc"})
	adj.Linux.Sysctl["-k"] = ""
	adj.Linux.NetDevices["-eth9"] = nil
	adj.Linux.Devices = append(adj.Linux.Devices, &api.LinuxDevice{Path: "-/dev/x"})
	adj.Mounts = append(adj.Mounts, &api.Mount{Destination: "-/y"}, &api.Mount{Destination: "/z", Options: []string{"rshared"}})
	adj.Hooks.Poststop = []*api.Hook{{Path: "/p"}}
	adj.Linux.Resources.Cpu = &api.LinuxCPU{Shares: &api.OptionalUInt64{Value: 1}, Quota: &api.OptionalInt64{Value: 1},
		Period: &api.OptionalUInt64{Value: 1}, RealtimeRuntime: &api.OptionalInt64{Value: 1}, RealtimePeriod: &api.OptionalUInt64{Value: 1},
		Cpus: "1", Mems: "1"}
	seen := map[string]bool{}
	unsorted := 0
	for _, classes := range [][2]string{{"x", ""}, {"", "y"}} { // set or clear
		adj.Linux.Resources.BlockioClass = &api.OptionalString{Value: classes[0]}
		adj.Linux.Resources.RdtClass = &api.OptionalString{Value: classes[1]}
		g := b.build(nil, req, IdentityOf(req, "containerd"), fixedClock)
		for _, l := range g.out {
			seen[l.Event] = true
		}
		unsorted += g.unsorted
	}
	if len(seen) != int(evCount) {
		var missing []string
		for _, n := range eventNames {
			if !seen[n] {
				missing = append(missing, n)
			}
		}
		t.Errorf("request does not cover %v", missing)
	}
	if unsorted != 0 {
		t.Errorf("%d lines needed a sort", unsorted)
	}
}

func TestRuntimeName(t *testing.T) {
	for in, want := range map[string]string{
		"containerd": "containerd", "io.containerd.runtime": "containerd",
		"cri-o": "crio", "crio": "crio", "k3s": "k3s", "": "",
	} {
		if got := RuntimeName(in); got != want {
			t.Errorf("RuntimeName(%q) = %q, want %q", in, got, want)
		}
	}
}
