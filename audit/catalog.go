package audit

import "github.com/containerd/nri/pkg/api"

// Op is what an audit event does to the OCI spec.
type Op string

// The operations an NRI audit message can name.
const (
	OpAdd    Op = "add"
	OpRemove Op = "remove"
	OpSet    Op = "set"
	OpClear  Op = "clear"
	OpInject Op = "inject"
)

// Event describes one of the NRI audit messages of containerd/nri PR #268.
type Event struct {
	// Message is the exact logrus msg.
	Message string
	// Name is the Go constant without the "Audit" prefix, e.g. AddProcessEnv.
	Name string
	Op   Op
	// Fields are the api.Field names the message changes; one in all but
	// "clear linux RDT".
	Fields []string
}

func ev(msg, name string, op Op, fields ...api.Field) Event {
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.String()
	}
	return Event{Message: msg, Name: name, Op: op, Fields: names}
}

// events is the catalog, in the order of the format doc §1.3. It is built
// once and never written after.
var events = []Event{
	ev("remove environment variable", "RemoveProcessEnv", OpRemove, api.Field_Env),
	ev("add environment variable", "AddProcessEnv", OpAdd, api.Field_Env),
	ev("set process arguments", "SetProcessArgs", OpSet, api.Field_Args),
	ev("remove annotation", "RemoveAnnotation", OpRemove, api.Field_Annotations),
	ev("add annotation", "AddAnnotation", OpAdd, api.Field_Annotations),
	ev("add OCI hook", "AddOCIHook", OpAdd, api.Field_OciHooks),
	ev("set linux CPU period", "SetLinuxCPUPeriod", OpSet, api.Field_CPUPeriod),
	ev("set linux CPU quota", "SetLinuxCPUQuota", OpSet, api.Field_CPUQuota),
	ev("set linux CPU shares", "SetLinuxCPUShares", OpSet, api.Field_CPUShares),
	ev("set linux cpuset CPUs", "SetLinuxCPUSetCPUs", OpSet, api.Field_CPUSetCPUs),
	ev("set linux cpuset mems", "SetLinuxCPUSetMems", OpSet, api.Field_CPUSetMems),
	ev("set linux cpu realtime runtime", "SetLinuxCPURealtimeRuntime", OpSet, api.Field_CPURealtimeRuntime),
	ev("set linux cpu realtime period", "SetLinuxCPURealtimePeriod", OpSet, api.Field_CPURealtimePeriod),
	ev("set linux memory limit", "SetLinuxMemLimit", OpSet, api.Field_MemLimit),
	ev("set linux swap limit", "SetLinuxMemSwapLimit", OpSet, api.Field_MemSwapLimit),
	ev("set linux hugepage limit", "SetLinuxHugepageLimit", OpSet, api.Field_HugepageLimits),
	ev("set linux cgroups unified resource", "SetLinuxResourceUnified", OpSet, api.Field_CgroupsUnified),
	ev("set linux PIDs limit", "SetLinuxPidsLimit", OpSet, api.Field_PidsLimit),
	ev("clear linux blkio class", "ClearLinuxBlkioClass", OpClear, api.Field_BlockioClass),
	ev("set linux blkio class", "SetLinuxBlkioClass", OpSet, api.Field_BlockioClass),
	ev("clear linux RDT class", "ClearLinuxRdtClass", OpClear, api.Field_RdtClass),
	ev("set linux RDT class", "SetLinuxRdtClass", OpSet, api.Field_RdtClass),
	ev("clear linux RDT", "ClearLinuxRdt", OpClear, api.Field_RdtClosID, api.Field_RdtSchemata, api.Field_RdtEnableMonitoring),
	ev("set linux RDT CLOS ID", "SetLinuxRdtClosID", OpSet, api.Field_RdtClosID),
	ev("set linux RDT schemata", "SetLinuxRdtSchemata", OpSet, api.Field_RdtSchemata),
	ev("set linux RDT monitoring", "SetLinuxRdtMonitoring", OpSet, api.Field_RdtEnableMonitoring),
	ev("set linux cgroups path", "SetLinuxCgroupsPath", OpSet, api.Field_CgroupsPath),
	ev("set process OOM score adjustment", "SetProcessOOMScoreAdj", OpSet, api.Field_OomScoreAdj),
	ev("set process IO priority", "SetLinuxIOPriority", OpSet, api.Field_IoPriority),
	ev("set linux seccomp policy", "SetLinuxSeccompPolicy", OpSet, api.Field_SeccompPolicy),
	ev("remove linux namespace", "RemoveLinuxNamespace", OpRemove, api.Field_Namespace),
	ev("set linux namespace", "SetLinuxNamespace", OpSet, api.Field_Namespace),
	ev("remove linux sysctl", "RemoveLinuxSysctl", OpRemove, api.Field_Sysctl),
	ev("set linux sysctl", "SetLinuxSysctl", OpSet, api.Field_Sysctl),
	ev("set linux scheduler", "SetLinuxScheduler", OpSet, api.Field_LinuxSched),
	ev("remove linux device", "RemoveLinuxDevice", OpRemove, api.Field_Devices),
	ev("add linux device", "AddLinuxDevice", OpAdd, api.Field_Devices),
	ev("add linux device rule", "AddLinuxDeviceRule", OpAdd, api.Field_Devices),
	ev("remove linux net device", "RemoveLinuxNetDevice", OpRemove, api.Field_LinuxNetDevices),
	ev("add linux net device", "AddLinuxNetDevice", OpAdd, api.Field_LinuxNetDevices),
	ev("inject CDI devices", "InjectCDIDevices", OpInject, api.Field_CdiDevices),
	ev("add process rlimits", "AddProcessRlimits", OpAdd, api.Field_Rlimits),
	ev("remove mount", "RemoveMount", OpRemove, api.Field_Mounts),
	ev("add mount", "AddMount", OpAdd, api.Field_Mounts),
	ev("set linux root propagation", "SetLinuxRootPropagation", OpSet, api.Field_Mounts),
}

// byMessage indexes events by message: an open-addressing table keyed by
// a hash of the message's length and first and last bytes, probed
// linearly, with the message compared on a hit. It is built once at
// package initialization and read-only after; every line of a runtime
// looks its msg up here, and a Go map lookup cost four times as much.
var byMessage = func() *messageTable {
	t := new(messageTable)
	for i := range events {
		j := messageSlot(events[i].Message)
		for t[j] != nil {
			j = (j + 1) % len(t)
		}
		t[j] = &events[i]
	}
	return t
}()

// messageTable has room for three times the 45 events, so probes are short.
type messageTable [128]*Event

// messageSlot hashes msg's length and its first and last eight bytes (or
// all of a shorter one) to a slot of messageTable.
func messageSlot(msg string) int {
	n := len(msg)
	var w uint64
	if n >= 8 {
		w = load64(msg, 0) ^ load64(msg, n-8)<<1
	} else {
		w = packShort(msg)
	}
	return int(((w ^ uint64(n)) * 0x9e3779b97f4a7c15) >> (64 - 7))
}

// Lookup returns the audit event whose message is msg (matched exactly).
func Lookup(msg string) (*Event, bool) {
	for j := messageSlot(msg); ; j = (j + 1) % len(byMessage) {
		e := byMessage[j]
		if e == nil {
			return nil, false
		}
		if e.Message == msg {
			return e, true
		}
	}
}

// Events returns a copy of the whole catalog, in the format doc's order.
func Events() []Event {
	out := make([]Event, len(events))
	copy(out, events)
	for i := range out {
		out[i].Fields = append([]string(nil), out[i].Fields...)
	}
	return out
}
