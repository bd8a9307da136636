package audit

import (
	"reflect"
	"testing"
)

// TestParseOwnersEdgeCases: DESIGN.md §3.1 rules 1 and 9 on odd owners.
func TestParseOwnersEdgeCases(t *testing.T) {
	tests := []struct {
		in             string
		names, indexes []string
		removal        bool
	}{
		{"007-x-y-z", []string{"x-y-z"}, []string{"007"}, false},
		{"10--a", []string{"-a"}, []string{"10"}, false},
		{"10-a,10-a", []string{"a", "a"}, []string{"10", "10"}, false}, // no de-duplication
		{"10-a,-11-b", []string{"a", "b"}, []string{"10", "11"}, true},
		{"unknown,unknown", nil, nil, false},
		{"unknown,10-a", []string{"unknown", "a"}, []string{"", "10"}, false},
		{"-unknown", nil, nil, true},
		{"-", nil, nil, true},
		{"05", []string{"05"}, []string{""}, false},
		{"1a-b", []string{"1a-b"}, []string{""}, false},
		{"abc-def", []string{"abc-def"}, []string{""}, false},
		{"10-a,", []string{"a", ""}, []string{"10", ""}, false},
		{",10-a", []string{"", "a"}, []string{"", "10"}, false},
	}
	for _, tt := range tests {
		o := ParseOwners(tt.in, nil, nil)
		if !reflect.DeepEqual(o.Names, tt.names) || !reflect.DeepEqual(o.Indexes, tt.indexes) || o.Removal != tt.removal {
			t.Errorf("%q: got %+v", tt.in, o)
		}
	}
}

// TestErrorPluginsEdgeCases: rule 2 on the phrases of the format doc §5.4
// wrapped the ways runtimes wrap them.
func TestErrorPluginsEdgeCases(t *testing.T) {
	tests := map[string][]string{
		`NRI RunPodSandbox failed: plugin "10-policy": rpc error: code = Unknown desc = policy check failed: pod not allowed`: {"10-policy"},
		`failed to get NRI adjustment for container: plugins "11-b" and "10-a" both tried to set Mounts /data`:                {"11-b", "10-a"},
		`plugins "10-a" and "11-b" both tried to set Env FOO; plugin "12-c": x`:                                               {"10-a", "11-b", "12-c"},
		`validator "20-v": no`:                                    {"20-v"},
		`validator "20-v" failed`:                                 {"20-v"},
		`validator "20-v" connected`:                              nil,
		`plugin "10-x" failed to start`:                           {"10-x"},
		`plugin "with \"quote\"": x`:                              {`with "quote"`},
		`plugin 10-x, failed to handle X request`:                 {"10-x"},
		`plugin 10-x: boom`:                                       nil, // unquoted needs "failed"
		`plugin device-injector failed to handle X request`:       nil, // unquoted needs the index
		`plugin "": x`:                                            nil,
		`closing plugin 10-x, failed to handle CreateContainer`:   {"10-x"},
		`xplugin "10-x": y`:                                       nil,
		`Plugin "10-x": y`:                                        nil,
		`plugin "10-x": a: plugin "10-x": b`:                      {"10-x"},
		`validator plugin 20-v failed: plugin "10-x": inner`:      {"20-v", "10-x"},
		`plugins "10-a" and "11-b" both tried to set RdtSchemata`: {"10-a", "11-b"},
	}
	for in, want := range tests {
		if got := ErrorPlugins(nil, in); !reflect.DeepEqual(got, want) {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
}

// TestRedactDefaults: rule 7's defaults on every key spelling that lands
// on nri_value_value, and nothing else.
func TestRedactDefaults(t *testing.T) {
	p := DefaultPolicy()
	for _, c := range []struct {
		event, key, value string
		redacted          bool
	}{
		{"AddProcessEnv", "value_value", "s", true},
		{"AddProcessEnv", "value_value", "", false},
		{"AddProcessEnv", "value_value", ValueOmitted, false},
		{"AddProcessEnv", "value_value", " <value omitted>", true},
		{"AddProcessEnv", "value_name", "s", false},
		{"AddAnnotation", "value_value", "s", false},
		{"SetLinuxSysctl", "value_value", "s", false},
		{"SetProcessArgs", "args", "s", false},
		{"", "value_value", "s", false},
	} {
		if _, got := p.Redact(c.event, c.key, c.value); got != c.redacted {
			t.Errorf("%+v: redacted=%v", c, got)
		}
	}
	off := &Policy{RedactionDisabled: true}
	if _, got := off.Redact("AddProcessEnv", "value_value", "s"); got {
		t.Error("redaction off still redacts")
	}
}

// TestLookupMatchesMap holds the message table to a plain map: every
// message is found, and no string that differs from one by a byte, a
// prefix or a suffix is.
func TestLookupMatchesMap(t *testing.T) {
	want := map[string]*Event{}
	for i := range events {
		want[events[i].Message] = &events[i]
	}
	check := func(msg string) {
		t.Helper()
		got, ok := Lookup(msg)
		w, wok := want[msg]
		if ok != wok || got != w {
			t.Fatalf("Lookup(%q) = %v, %v; want %v, %v", msg, got, ok, w, wok)
		}
	}
	check("")
	for m := range want {
		check(m)
		check(m + " ")
		check(m[:len(m)-1])
		check(" " + m)
		for i := 0; i < len(m); i++ {
			check(m[:i] + "X" + m[i+1:])
		}
	}
}
