package adjustlog

import (
	"strconv"
	"strings"
	"time"

	"github.com/containerd/nri/pkg/api"
)

// Line keys of the PoC (format doc §1.3).
const (
	KeyPlugin = "nri.plugin"
	KeyArgs   = "args"
	KeyValue  = "value"
)

// Identity keys the PoC lines lack. They sanitize (audit.SanitizeKey) to
// container_id, container_name, pod_name, pod_namespace, pod_uid and
// runtime_name, i.e. nri_container_id ... in a document. The runtime key is
// not "runtime": that is a derived document key (nri_runtime) and a line key
// of that name would land as nri_runtime_2.
const (
	KeyContainerID   = "container.id"
	KeyContainerName = "container.name"
	KeyPodName       = "pod.name"
	KeyPodNamespace  = "pod.namespace"
	KeyPodUID        = "pod.uid"
	KeyRuntime       = "runtime.name"
)

// Level is the logrus level of every audit line (the PoC logs at Info).
const Level = "info"

// TimeFormat is containerd's log timestamp layout (RFC3339NanoFixed).
const TimeFormat = "2006-01-02T15:04:05.000000000Z07:00"

// Kind is the Go type a value had in the PoC's logrus fields; it decides
// how the value renders.
type Kind uint8

// Value kinds.
const (
	// KindString renders bare or Go-quoted in text, as a string in JSON.
	KindString Kind = iota
	// KindInt and KindUint are the (u)int64/int32/int values: numbers.
	KindInt
	KindUint
	// KindBool is true or false in both formats.
	KindBool
	// KindStrings is a []string: fmt.Sprint form ("[a b]") in text, an
	// array in JSON (null for a nil slice).
	KindStrings
	// KindNetDevice is a *api.LinuxNetDevice: protobuf text (name:"net1")
	// in text, {"name":"net1"} in JSON; Null for a nil pointer.
	KindNetDevice
	// KindIntPtr is a *int64 (legacy device rules): the number, or
	// "<nil>"/null when Null. The PoC's text form prints the pointer
	// address instead of the number; we print the number.
	KindIntPtr
)

// Value is one field value.
type Value struct {
	Kind Kind
	Str  string // KindString; the device name of KindNetDevice
	Int  int64  // KindInt, KindIntPtr
	Uint uint64 // KindUint
	Bool bool   // KindBool
	Strs []string
	// Null marks a nil pointer (KindNetDevice, KindIntPtr) or a nil slice
	// (KindStrings).
	Null bool
}

// String returns a string value.
func String(s string) Value { return Value{Kind: KindString, Str: s} }

// Int returns a signed integer value.
func Int(i int64) Value { return Value{Kind: KindInt, Int: i} }

// Uint returns an unsigned integer value.
func Uint(u uint64) Value { return Value{Kind: KindUint, Uint: u} }

// Bool returns a boolean value.
func Bool(b bool) Value { return Value{Kind: KindBool, Bool: b} }

// Strings returns a []string value; a nil slice stays null in JSON.
func Strings(s []string) Value { return Value{Kind: KindStrings, Strs: s, Null: s == nil} }

// NetDevice returns the value of a container-side net device.
func NetDevice(d *api.LinuxNetDevice) Value {
	if d == nil {
		return Value{Kind: KindNetDevice, Null: true}
	}
	return Value{Kind: KindNetDevice, Str: d.Name}
}

// IntPtr returns the value of an optional integer.
func IntPtr(p *int64) Value {
	if p == nil {
		return Value{Kind: KindIntPtr, Null: true}
	}
	return Value{Kind: KindIntPtr, Int: *p}
}

// Text returns the value as logrus' text formatter sees it before quoting
// (fmt.Sprint of the Go value), which is also how a parser of the text
// line reads it back.
func (v Value) Text() string {
	switch v.Kind {
	case KindString:
		return v.Str
	case KindInt:
		return strconv.FormatInt(v.Int, 10)
	case KindUint:
		return strconv.FormatUint(v.Uint, 10)
	case KindBool:
		return strconv.FormatBool(v.Bool)
	case KindStrings:
		return "[" + strings.Join(v.Strs, " ") + "]"
	case KindNetDevice:
		if v.Null {
			return "<nil>"
		}
		if v.Str == "" {
			return ""
		}
		return `name:` + strconv.Quote(v.Str)
	case KindIntPtr:
		if v.Null {
			return "<nil>"
		}
		return strconv.FormatInt(v.Int, 10)
	}
	return ""
}

// Field is one key of a line besides time, level and msg.
type Field struct {
	Key   string
	Value Value
}

// Line is one audit line.
type Line struct {
	Time time.Time
	// Msg is the catalog message (audit.Event.Message).
	Msg string
	// Event is the catalog name (audit.Event.Name), e.g. AddMount.
	Event string
	// Fields are the other keys, unique, none of them time, level or msg
	// (logrus would rename those to fields.*). Build sorts them by key; the
	// renderers sort a copy when they are not.
	Fields []Field
}

// Get returns the value of key.
func (l *Line) Get(key string) (Value, bool) {
	for i := range l.Fields {
		if l.Fields[i].Key == key {
			return l.Fields[i].Value, true
		}
	}
	return Value{}, false
}
