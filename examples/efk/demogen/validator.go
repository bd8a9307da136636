package demogen

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/containerd/nri/pkg/api"
	"github.com/coreos/go-systemd/v22/journal"

	"github.com/nri-audit/nri-audit/adjustlog"
	"github.com/nri-audit/nri-audit/internal/journalgen"
	"github.com/nri-audit/nri-audit/nrivalidator"
)

// Identity of the validator node's journal.
const (
	validatorMachineID = "9a0f3c2e5b7d4e1f8a6c3b2d1e0f9a8b"
	validatorBootID    = "2c4e6a8b0d1f4e3a5c7b9d0e2f4a6c8e"
	validatorPID       = "3107"
)

// workload is a kind of pod the validator node runs, with the plugins'
// adjustment of its containers.
type workload struct {
	namespace, name string
	statefulSet     bool
	containers      []string
	weight          int
	adjust          func(r *rand.Rand, adj *api.ContainerAdjustment, o *owners)
}

type owners struct{ f *api.FieldOwners }

func (o owners) simple(f api.Field, plugin string) { o.f.Simple[int32(f)] = plugin }

func (o owners) compound(f api.Field, key, plugin string) {
	c, ok := o.f.Compound[int32(f)]
	if !ok {
		c = api.NewCompoundFieldOwners()
		o.f.Compound[int32(f)] = c
	}
	c.Owners[key] = plugin
}

// The plugins of the demo: the same as the runtime node's.
const (
	pluginDevices  = journalgen.PluginDevices
	pluginCDI      = journalgen.PluginCDI
	pluginLogger   = journalgen.PluginLogger
	pluginResource = journalgen.PluginResource
)

func gpuPod(r *rand.Rand, adj *api.ContainerAdjustment, o *owners) {
	gpu := strconv.Itoa(r.IntN(4))
	adj.AddAnnotation("devices.example.com/gpu", gpu)
	o.compound(api.Field_Annotations, "devices.example.com/gpu", pluginDevices)
	adj.AddEnv("NVIDIA_VISIBLE_DEVICES", gpu)
	o.compound(api.Field_Env, "NVIDIA_VISIBLE_DEVICES", pluginDevices)
	adj.AddEnv("NVIDIA_DRIVER_CAPABILITIES", "compute,utility")
	o.compound(api.Field_Env, "NVIDIA_DRIVER_CAPABILITIES", pluginDevices)
	dev := "vendor.com/gpu=" + gpu
	adj.AddCDIDevice(&api.CDIDevice{Name: dev})
	o.compound(api.Field_CdiDevices, dev, pluginCDI)
	path := "/dev/nvidia" + gpu
	minor, _ := strconv.Atoi(gpu)
	adj.AddDevice(&api.LinuxDevice{Path: path, Type: "c", Major: 195, Minor: int64(minor)})
	o.compound(api.Field_Devices, path, pluginDevices)
	adj.AddMount(&api.Mount{Destination: "/usr/local/nvidia", Source: "/opt/nvidia/driver", Type: "bind", Options: []string{"rbind", "ro"}})
	o.compound(api.Field_Mounts, "/usr/local/nvidia", pluginDevices)
	adj.SetLinuxCPUSetCPUs(fmt.Sprintf("%d-%d", 2*minor, 2*minor+1))
	o.simple(api.Field_CPUSetCPUs, pluginResource)
	adj.SetLinuxMemoryLimit(8 << 30)
	o.simple(api.Field_MemLimit, pluginResource)
}

func loggedService(r *rand.Rand, adj *api.ContainerAdjustment, o *owners) {
	adj.AddEnv("LOG_ENDPOINT", "unix:///run/logger/logger.sock")
	o.compound(api.Field_Env, "LOG_ENDPOINT", pluginLogger)
	adj.AddEnv("LOG_TOKEN", "lt-"+strconv.FormatUint(r.Uint64(), 36))
	o.compound(api.Field_Env, "LOG_TOKEN", pluginLogger)
	adj.RemoveEnv("DEBUG")
	o.compound(api.Field_Env, "DEBUG", "-"+pluginLogger)
	adj.AddHooks(&api.Hooks{Prestart: []*api.Hook{{Path: "/usr/local/bin/logger-hook", Args: []string{"logger-hook", "prestart"}}}})
	o.simple(api.Field_OciHooks, pluginLogger)
	adj.AddMount(&api.Mount{Destination: "/run/logger", Source: "/var/run/logger", Type: "bind", Options: []string{"rbind", "rw"}})
	o.compound(api.Field_Mounts, "/run/logger", pluginLogger)
	adj.SetLinuxSeccompPolicy(&api.LinuxSeccomp{DefaultAction: "SCMP_ACT_ERRNO"})
	o.simple(api.Field_SeccompPolicy, pluginLogger)
	resourcePolicy(r, adj, o)
}

func resourcePolicy(r *rand.Rand, adj *api.ContainerAdjustment, o *owners) {
	adj.SetLinuxCPUShares(uint64(256 * (1 + r.IntN(8))))
	o.simple(api.Field_CPUShares, pluginResource)
	adj.SetLinuxCPUQuota(int64(50000 * (1 + r.IntN(4))))
	o.simple(api.Field_CPUQuota, pluginResource)
	adj.SetLinuxMemoryLimit(int64(256<<20) * int64(1+r.IntN(8)))
	o.simple(api.Field_MemLimit, pluginResource)
	adj.SetLinuxPidLimits(4096)
	o.simple(api.Field_PidsLimit, pluginResource)
	score := 500 + r.IntN(400)
	adj.SetLinuxOomScoreAdj(&score)
	o.simple(api.Field_OomScoreAdj, pluginResource)
	adj.AddRlimit("RLIMIT_NOFILE", 65536, 1024)
	o.compound(api.Field_Rlimits, "RLIMIT_NOFILE", pluginResource)
}

func untouched(*rand.Rand, *api.ContainerAdjustment, *owners) {}

var workloads = []workload{
	{namespace: "ml", name: "gpu-trainer", containers: []string{"trainer"}, weight: 3, adjust: gpuPod},
	{namespace: "ml", name: "inference", containers: []string{"model-server"}, weight: 2, adjust: gpuPod},
	{namespace: "payments", name: "checkout-api", containers: []string{"api", "envoy"}, weight: 3, adjust: loggedService},
	{namespace: "payments", name: "ledger", statefulSet: true, containers: []string{"postgres"}, weight: 1, adjust: resourcePolicy},
	{namespace: "shop", name: "frontend", containers: []string{"nginx"}, weight: 3, adjust: loggedService},
	{namespace: "monitoring", name: "node-exporter", containers: []string{"node-exporter"}, weight: 1, adjust: resourcePolicy},
	{namespace: "kube-system", name: "coredns", containers: []string{"coredns"}, weight: 1, adjust: untouched},
}

// validatorSource makes the validator's journal entries of worker-2.
type validatorSource struct {
	rng      *rand.Rand
	builder  *adjustlog.Builder
	sink     *nrivalidator.JournalSink
	interval time.Duration
	next     time.Time // time of the next container creation
	boot     time.Time
	weights  int

	// collected by the sink's send function for the current creation
	lineTimes []time.Time
	pending   []journalgen.Entry
	sent      int
}

func newValidatorSource(start time.Time, interval time.Duration, seed uint64) (*validatorSource, error) {
	b, err := adjustlog.New(adjustlog.Options{})
	if err != nil {
		return nil, fmt.Errorf("demogen: %w", err)
	}
	v := &validatorSource{
		rng:      rand.New(rand.NewPCG(seed^0x76616c6964, seed+1)),
		builder:  b,
		interval: interval,
		next:     start,
		boot:     start.Add(-3 * time.Hour),
	}
	for _, w := range workloads {
		v.weights += w.weight
	}
	// The validator's real sink renders the lines and picks the journal
	// fields; the send function turns each call into an export entry.
	v.sink = nrivalidator.NewJournalSink(nrivalidator.FormatText, v.send)
	return v, nil
}

func (v *validatorSource) send(message string, priority journal.Priority, vars map[string]string) error {
	if v.sent >= len(v.lineTimes) {
		return fmt.Errorf("more lines sent than built")
	}
	t := v.lineTimes[v.sent]
	v.sent++
	e := journalgen.Entry{
		Realtime:  t,
		Monotonic: t.Sub(v.boot),
		Fields: []journalgen.Field{
			{Name: "_HOSTNAME", Value: ValidatorNode},
			{Name: "_MACHINE_ID", Value: validatorMachineID},
			{Name: "_BOOT_ID", Value: validatorBootID},
			{Name: "_TRANSPORT", Value: "journal"},
			{Name: "_PID", Value: validatorPID},
			{Name: "_UID", Value: "0"},
			{Name: "_GID", Value: "0"},
			{Name: "_COMM", Value: "nri-audit-valid"},
			{Name: "_EXE", Value: "/usr/local/bin/nri-audit-validator"},
			{Name: "_CMDLINE", Value: "/usr/local/bin/nri-audit-validator --output=journal --format=text"},
			{Name: "PRIORITY", Value: strconv.Itoa(int(priority))},
			{Name: "MESSAGE", Value: message},
		},
	}
	for _, k := range []string{"SYSLOG_IDENTIFIER", nrivalidator.FieldContainerID, nrivalidator.FieldContainerName,
		nrivalidator.FieldPodName, nrivalidator.FieldPodNamespace, nrivalidator.FieldPodUID, nrivalidator.FieldRuntime} {
		if val, ok := vars[k]; ok {
			e.Fields = append(e.Fields, journalgen.Field{Name: k, Value: val})
		}
	}
	v.pending = append(v.pending, e)
	return nil
}

func (v *validatorSource) hex(n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[v.rng.IntN(16)]
	}
	return string(b)
}

func (v *validatorSource) pick() workload {
	n := v.rng.IntN(v.weights)
	for _, w := range workloads {
		if n < w.weight {
			return w
		}
		n -= w.weight
	}
	return workloads[len(workloads)-1]
}

// podName is a Deployment's pod name (name-<rs hash>-<5>) or a
// StatefulSet's (name-<ordinal>).
func (v *validatorSource) podName(w workload) string {
	if w.statefulSet {
		return w.name + "-" + strconv.Itoa(v.rng.IntN(3))
	}
	const alnum = "bcdfghjklmnpqrstvwxz2456789"
	b := make([]byte, 5)
	for i := range b {
		b[i] = alnum[v.rng.IntN(len(alnum))]
	}
	return w.name + "-" + v.hex(9)[:9] + "-" + string(b)
}

// create makes the entries of one pod's container creations at t.
func (v *validatorSource) create(t time.Time) error {
	w := v.pick()
	pod := &api.PodSandbox{
		Id: v.hex(64), Name: v.podName(w), Namespace: w.namespace,
		Uid: fmt.Sprintf("%s-%s-4%s-a%s-%s", v.hex(8), v.hex(4), v.hex(3), v.hex(3), v.hex(12)),
	}
	for _, name := range w.containers {
		ctr := &api.Container{
			Id: v.hex(64), PodSandboxId: pod.Id, Name: name,
			Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME=" + pod.Name, "DEBUG=1"},
		}
		adj := &api.ContainerAdjustment{}
		o := owners{api.NewFieldOwners()}
		w.adjust(v.rng, adj, &o)
		op := api.NewOwningPlugins()
		op.Owners[ctr.Id] = o.f
		req := &api.ValidateContainerAdjustmentRequest{Pod: pod, Container: ctr, Adjust: adj, Owners: op}
		clock := t
		lines := v.builder.Build(nil, req, adjustlog.IdentityOf(req, "cri-o"), func() time.Time {
			clock = clock.Add(time.Duration(4+v.rng.IntN(20)) * time.Microsecond)
			return clock
		})
		v.lineTimes, v.sent = v.lineTimes[:0], 0
		for _, l := range lines {
			v.lineTimes = append(v.lineTimes, l.Time)
		}
		if err := v.sink.Write(lines, adjustlog.IdentityOf(req, "cri-o")); err != nil {
			return err
		}
		if v.sent != len(lines) {
			return fmt.Errorf("validator sink sent %d of %d lines", v.sent, len(lines))
		}
		t = clock.Add(time.Millisecond)
	}
	return nil
}

func (v *validatorSource) Until(t time.Time, dst []journalgen.Entry) ([]journalgen.Entry, error) {
	for !v.next.After(t) {
		if err := v.create(v.next); err != nil {
			return dst, fmt.Errorf("demogen: %s: %w", ValidatorNode, err)
		}
		v.next = v.next.Add(v.interval)
	}
	dst = append(dst, v.pending...)
	v.pending = v.pending[:0]
	return dst, nil
}
