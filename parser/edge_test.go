package parser_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/nri-audit/nri-audit/audit"
	"github.com/nri-audit/nri-audit/parser"
)

// TestContractEdgeCases walks DESIGN.md §3.1 rule by rule with the inputs a
// hostile or merely unusual line would bring. Cases that passed before the
// review are here too, so a later change cannot break them unnoticed.
func TestContractEdgeCases(t *testing.T) {
	const jt = "2026-02-09T16:00:00.123456000Z" // journalTime
	env := `level=info msg="add environment variable" nri.plugin=10-a value.name=X `
	tests := []docCase{
		// Rule 1: nri_removal.
		{"removal in a list", parser.Options{},
			`level=info msg="add OCI hook" nri.plugin="10-a,-11-b" value.type=PreStart value.path=/h`,
			want{"nri_removal": true, "nri_plugin_name": []string{"a", "b"}, "nri_plugin_index": []string{"10", "11"}}},
		{"removal on a non-audit line", parser.Options{},
			`level=info msg=other nri.plugin=-05-logger`,
			want{"nri_removal": true, "nri_event": nil, "nri_plugin_name": []string{"logger"}}},
		{"JSON removal", parser.Options{},
			`{"msg":"remove mount","nri.plugin":"-10-d","value.destination":"/data"}`,
			want{"nri_removal": true, "nri_event": "RemoveMount", "nri_plugin_index": []string{"10"}}},

		// Rule 2: nri_error_plugin.
		{"conflict names both, in order", parser.Options{},
			`level=error msg="x" error="plugins \"11-b\" and \"10-a\" both tried to set Mounts /data"`,
			want{"nri_error_plugin": []string{"11-b", "10-a"}}},
		{"pluginError through RunPodSandbox", parser.Options{},
			`level=error msg="RunPodSandbox for &PodSandboxMetadata{Name:web-0,} failed, error" error="NRI RunPodSandbox failed: plugin \"10-policy\": rpc error: code = Unknown desc = policy check failed: pod not allowed"`,
			want{"nri_error_plugin": []string{"10-policy"}, "nri_error": "NRI RunPodSandbox failed: plugin \"10-policy\": rpc error: code = Unknown desc = policy check failed: pod not allowed"}},
		{"validator rejected", parser.Options{},
			`level=error msg=x error="validator \"20-v\" rejected container adjustment, reason: no"`,
			want{"nri_error_plugin": []string{"20-v"}}},
		{"validator plugin failed", parser.Options{},
			`level=error msg="validator plugin 20-v failed: deadline"`,
			want{"nri_error_plugin": []string{"20-v"}}},
		{"closing plugin", parser.Options{},
			`level=error msg="closing plugin 10-x, failed to handle CreateContainer request: timeout"`,
			want{"nri_error_plugin": []string{"10-x"}}},
		{"proceeding without it, warning", parser.Options{},
			`level=warning msg="plugin 10-x failed to handle CreateContainer request, proceeding without it: eof"`,
			want{"nri_error_plugin": []string{"10-x"}, "nri_level": "warning"}},
		{"debug level too (CRI-O interceptor)", parser.Options{},
			`level=debug msg="Response error: plugin \"10-x\": rpc error" file="interceptors/interceptors.go:84"`,
			want{"nri_error_plugin": []string{"10-x"}}},
		{"several values, first mention order, no repeats", parser.Options{},
			`level=error msg="plugin \"11-y\": a" error="plugin \"10-x\": b: plugin \"11-y\": c"`,
			want{"nri_error_plugin": []string{"11-y", "10-x"}}},
		{"JSON error line", parser.Options{},
			`{"level":"error","msg":"x","error":"plugin \"10-x\": boom"}`,
			want{"nri_error_plugin": []string{"10-x"}}},
		{"lifecycle lines blame nobody", parser.Options{},
			`level=info msg="connection to plugin \"10-x\" closed"`,
			want{"nri_error_plugin": nil}},
		{"audit line values are not errors", parser.Options{},
			`level=info msg="add annotation" nri.plugin=10-a value.key=k value.value="plugin \"10-x\": no"`,
			want{"nri_error_plugin": nil, "nri_event": "AddAnnotation"}},
		{"unparseable line still attributed", parser.Options{},
			`panic: plugin "10-x": boom`,
			want{"nri_error_plugin": []string{"10-x"}, "nri_parse_error": "logfmt: no key=value pair"}},

		// Rule 3: reserved keys, collisions, order.
		{"every reserved key suffixed, derived keys intact", parser.Options{},
			`level=info msg="add mount" nri.plugin=-10-a event=e op=o field=f plugin_name=n plugin.index=i nri.removal=r runtime=io.containerd.runc.v2 error-plugin=ep parse/error=pe`,
			want{"nri_event": "AddMount", "nri_event_2": "e", "nri_op": "add", "nri_op_2": "o", "nri_field": "Mounts", "nri_field_2": "f",
				"nri_plugin_name": []string{"a"}, "nri_plugin_name_2": "n", "nri_plugin_index": []string{"10"}, "nri_plugin_index_2": "i",
				"nri_removal": true, "nri_removal_2": "r", "nri_runtime": "containerd", "nri_runtime_2": "io.containerd.runc.v2",
				"nri_error_plugin_2": "ep", "nri_parse_error_2": "pe", "nri_error_plugin": nil, "nri_parse_error": nil}},
		{"reserved key with its suffix already written", parser.Options{},
			`level=info msg=m event_2=a event=b event=c`,
			want{"nri_event_2": "a", "nri_event_3": "b", "nri_event_4": "c", "nri_event": nil}},
		{"keys sanitizing onto each other", parser.Options{},
			`level=info msg=m a.b=1 a-b=2 a/b=3 "a b"=4 a_b=5 nri.a.b=6`,
			want{"nri_a_b": "1", "nri_a_b_2": "2", "nri_a_b_3": "3", "nri_a_b_4": "4", "nri_a_b_5": "5", "nri_a_b_6": "6"}},
		{"duplicate msg, level, nri.plugin: first one counts", parser.Options{},
			`level=info msg="add mount" nri.plugin=10-a level=error msg=other nri.plugin=11-b`,
			want{"nri_level": "info", "nri_level_2": "error", "nri_msg": "add mount", "nri_msg_2": "other", "nri_event": "AddMount",
				"nri_plugin": "10-a", "nri_plugin_2": "11-b", "nri_plugin_name": []string{"a"}}},
		{"plugin= before nri.plugin takes nri_plugin (line order)", parser.Options{},
			`level=info msg=m plugin=x nri.plugin=10-a`,
			want{"nri_plugin": "x", "nri_plugin_2": "10-a", "nri_plugin_name": []string{"a"}}},
		{"@timestamp as a line key", parser.Options{},
			`level=info msg=m @timestamp=x`,
			want{"nri_@timestamp": "x", "@timestamp": jt}},
		{"JSON duplicate keys in order", parser.Options{},
			`{"msg":"m","k":"1","k":"2","msg":"n","k_2":"3"}`,
			want{"nri_msg": "m", "nri_msg_2": "n", "nri_k": "1", "nri_k_2": "2", "nri_k_2_2": "3"}},
		{"JSON dotted and nested keys meet", parser.Options{},
			`{"msg":"m","a.b":1,"a":{"b":2},"a_b":3}`,
			want{"nri_a_b": "1", "nri_a_b_2": "2", "nri_a_b_3": "3", "nri_a": nil}},

		// Rule 4: time.
		{"RFC 3339 with offset to UTC", parser.Options{},
			`time="2026-02-09T17:44:32.545908121+01:00" level=info msg=m`,
			want{"@timestamp": "2026-02-09T16:44:32.545908121Z", "nri_time": nil}},
		{"negative half-hour offset", parser.Options{},
			`time="2026-02-09T11:14:32.5-05:30" level=info msg=m`,
			want{"@timestamp": "2026-02-09T16:44:32.500000000Z"}},
		{"logrus default RFC 3339 seconds", parser.Options{},
			`time="2026-02-09T16:44:32Z" level=info msg=m`,
			want{"@timestamp": "2026-02-09T16:44:32.000000000Z"}},
		{"bare time value", parser.Options{},
			`time=2026-02-09T16:44:32.545908121Z level=info msg=m`,
			want{"@timestamp": "2026-02-09T16:44:32.545908121Z"}},
		{"no zone: unparseable", parser.Options{},
			`time="2026-02-09T16:44:32" level=info msg=m`,
			want{"nri_time": "2026-02-09T16:44:32", "@timestamp": jt}},
		{"impossible date: unparseable", parser.Options{},
			`time="2026-02-30T16:44:32Z" level=info msg=m`,
			want{"nri_time": "2026-02-30T16:44:32Z", "@timestamp": jt}},
		{"empty time", parser.Options{},
			`time= level=info msg=m`,
			want{"nri_time": "", "@timestamp": jt}},
		{"a second time after a bad one", parser.Options{},
			`time=bad time="2026-02-09T16:44:32Z" msg=m`,
			want{"nri_time": "bad", "@timestamp": "2026-02-09T16:44:32.000000000Z", "nri_time_2": nil}},
		{"a second time after a good one is kept", parser.Options{},
			`time="2026-02-09T16:44:32Z" time="2026-02-09T16:44:33Z" msg=m`,
			want{"nri_time": "2026-02-09T16:44:33Z", "@timestamp": "2026-02-09T16:44:32.000000000Z"}},
		{"CRI-O JSON seconds", parser.Options{},
			`{"level":"info","msg":"add mount","nri.plugin":"10-d","time":"2026-02-09T16:44:32Z"}`,
			want{"@timestamp": "2026-02-09T16:44:32.000000000Z", "nri_time": nil}},
		{"JSON time number is not a time", parser.Options{},
			`{"msg":"m","time":1770655472}`,
			want{"nri_time": "1770655472", "@timestamp": jt}},
		{"nested time is an ordinary key", parser.Options{},
			`{"msg":"m","a":{"time":"2026-02-09T16:44:32Z"}}`,
			want{"nri_a_time": "2026-02-09T16:44:32Z", "@timestamp": jt}},

		// Rule 5: what parses.
		{"bare words only", parser.Options{},
			`panic: runtime error: invalid memory address`,
			want{"nri_parse_error": "logfmt: no key=value pair", "nri_level": nil, "@timestamp": jt}},
		{"empty message", parser.Options{}, `   `,
			want{"nri_parse_error": "empty message"}},
		{"bare words among pairs are skipped", parser.Options{},
			`level=info flag msg=m = =v`,
			want{"nri_level": "info", "nri_msg": "m", "nri_flag": nil, "nri_parse_error": nil}},
		{"key= is an empty string", parser.Options{},
			`level=info msg=m k= j=""`,
			want{"nri_k": "", "nri_j": ""}},
		{"= inside a bare value", parser.Options{},
			`level=info msg=m k==v k2=a=b`,
			want{"nri_k": "=v", "nri_k2": "a=b"}},
		{"quoted keys", parser.Options{},
			`level=info msg=m "quoted key"=v "k"="w" "a\"b"=x`,
			want{"nri_quoted_key": "v", "nri_k": "w", `nri_a"b`: "x", "nri_parse_error": nil}},
		{"quoted word without = is a bare word", parser.Options{},
			`level=info msg=m "a=b c" z=1`,
			want{"nri_a": nil, `nri_"a`: nil, "nri_z": "1", "nri_parse_error": nil}},
		{"a JSON string is not logfmt", parser.Options{},
			`"a=b c=d"`,
			want{"nri_parse_error": "logfmt: no key=value pair", `nri_"a`: nil}},
		{"unterminated quote in the first pair", parser.Options{},
			`msg="add mount level=info`,
			want{"nri_parse_error": `logfmt: unterminated quoted value in pair "msg" at byte 0`, "nri_msg": nil, "nri_event": nil}},
		{"unterminated quote in the middle swallows the rest", parser.Options{},
			`level=info msg="add mount" nri.plugin="10-a value.destination=/data`,
			want{"nri_parse_error": `logfmt: unterminated quoted value in pair "nri.plugin" at byte 27`, "nri_event": "AddMount", "nri_plugin": nil, "nri_value_destination": nil}},
		{"escape at the very end", parser.Options{},
			`level=info msg=m k="abc\`,
			want{"nri_parse_error": `logfmt: unterminated escape in pair "k" at byte 17`, "nri_msg": "m", "nri_k": nil}},
		{"escaped quote then the end", parser.Options{},
			`level=info msg=m k="abc\"`,
			want{"nri_parse_error": `logfmt: unterminated quoted value in pair "k" at byte 17`}},
		{"bad \\x escape", parser.Options{},
			`level=info msg=m k="\xZZ" after=1`,
			want{"nri_parse_error": `logfmt: bad \x escape in pair "k" at byte 17`, "nri_after": nil, "nri_msg": "m"}},
		{"unterminated quoted key", parser.Options{},
			`level=info msg=m "oops`,
			want{"nri_parse_error": "logfmt: unterminated quoted key at byte 17", "nri_msg": "m"}},
		{"kept time and msg still used", parser.Options{},
			`time="2026-02-09T16:44:32.5Z" level=info msg="set linux memory limit" nri.plugin=90-rp value="536870912`,
			want{"@timestamp": "2026-02-09T16:44:32.500000000Z", "nri_event": "SetLinuxMemLimit", "nri_plugin_name": []string{"rp"}, "nri_value": nil,
				"nri_parse_error": `logfmt: unterminated quoted value in pair "value" at byte 87`}},
		{"JSON empty object parses", parser.Options{},
			`{}`,
			want{"nri_parse_error": nil, "MESSAGE": "{}"}},
		{"JSON object of nulls parses", parser.Options{},
			`{"a":null,"b":[],"c":{}}`,
			want{"nri_parse_error": nil, "nri_a": nil, "nri_b": nil, "nri_c": nil}},
		{"JSON array: not an object", parser.Options{},
			`[{"msg":"add mount"}]`,
			want{"nri_parse_error": "json: value is not an object at byte 0", "nri_event": nil}},
		{"JSON trailing data: unparseable as a whole", parser.Options{},
			`{"msg":"add mount"} {"x":1}`,
			want{"nri_parse_error": "json: unexpected data after the object at byte 20", "nri_msg": nil, "nri_event": nil}},
		{"JSON truncated", parser.Options{},
			`{"msg":"add mount","nri.plugin":"10-a`,
			want{"nri_parse_error": "json: unterminated string at byte 37", "nri_msg": nil}},
		{"JSON leading zero", parser.Options{},
			`{"msg":"m","k":01}`,
			want{"nri_parse_error": "json: expected ',' or '}' at byte 16", "nri_msg": nil}},
		{"JSON NaN", parser.Options{},
			`{"msg":"m","k":NaN}`,
			want{"nri_parse_error": "json: invalid value at byte 15"}},
		{"JSON with surrounding blanks", parser.Options{},
			"  \t{\"msg\":\"m\"}  ",
			want{"nri_msg": "m", "nri_parse_error": nil}},

		// Rule 6: JSON values.
		{"JSON numbers as written", parser.Options{},
			`{"msg":"m","a":1e400,"b":-0,"c":18446744073709551615,"d":-0.0e-5,"e":1E+2,"f":123456789012345678901234567890.5}`,
			want{"nri_a": "1e400", "nri_b": "-0", "nri_c": "18446744073709551615", "nri_d": "-0.0e-5", "nri_e": "1E+2", "nri_f": "123456789012345678901234567890.5"}},
		{"JSON booleans as text", parser.Options{},
			`{"msg":"add linux device rule","value.allow":false,"value.major":10,"value.minor":null}`,
			want{"nri_value_allow": "false", "nri_value_major": "10", "nri_value_minor": nil, "nri_event": "AddLinuxDeviceRule"}},
		{"JSON empty string stays", parser.Options{},
			`{"msg":"m","a":"","b":{"c":""}}`,
			want{"nri_a": "", "nri_b_c": "", "nri_b": nil}},
		{"JSON deep nesting flattens, parent absent", parser.Options{},
			`{"msg":"m","a":{"b":{"c":{"d.e":"x","f-g":[1]}}}}`,
			want{"nri_a_b_c_d_e": "x", "nri_a_b_c_f_g": []string{"1"}, "nri_a": nil, "nri_a_b": nil, "nri_a_b_c": nil}},
		{"JSON array of objects: elements as their JSON text", parser.Options{},
			`{"msg":"m","a":[{"b":1},{"b":2}],"c":[[1,2]],"d":[null,null],"e":[true,1.5,"x"]}`,
			want{"nri_a": []string{`{"b":1}`, `{"b":2}`}, "nri_c": []string{"[1,2]"}, "nri_d": nil, "nri_e": []string{"true", "1.5", "x"}}},
		{"JSON RDT schemata array", parser.Options{},
			`{"level":"info","msg":"set linux RDT schemata","nri.plugin":"90-resource-policy","value":["L3:0=ff","MB:0=50"]}`,
			want{"nri_value": []string{"L3:0=ff", "MB:0=50"}, "nri_field": "RdtSchemata"}},
		{"JSON net device object flattens", parser.Options{},
			`{"level":"info","msg":"add linux net device","nri.plugin":"10-d","value.containerif":{"name":"net1"},"value.hostif":"eth1"}`,
			want{"nri_value_containerif_name": "net1", "nri_value_containerif": nil, "nri_value_hostif": "eth1"}},
		{"JSON unicode escapes", parser.Options{},
			`{"msg":"m","a":"\ud83d\ude00","b":"\ud800","c":"\udc00x","d":"\ud83dx","e":"\ud83d\ud83d\ude00","f":"\u00e9\u0041","g":"\/\"\\"}`,
			want{"nri_a": "😀", "nri_b": "\ufffd", "nri_c": "\ufffdx", "nri_d": "\ufffdx", "nri_e": "\ufffd😀", "nri_f": "éA", "nri_g": `/"\`}},
		{"JSON escaped key", parser.Options{},
			`{"msg":"add mount","nri\u002eplugin":"10-a"}`,
			want{"nri_plugin": "10-a", "nri_plugin_name": []string{"a"}}},

		// Rule 7: redaction.
		{"env value redacted whatever the owner", parser.Options{},
			env + `value.value=s3cr3t`,
			want{"nri_value_value": "<redacted>", "MESSAGE": env + `value.value="<redacted>"`}},
		{"env value omitted kept", parser.Options{},
			env + `value.value="<value omitted>"`,
			want{"nri_value_value": "<value omitted>"}},
		{"repeated env values all redacted", parser.Options{},
			env + `value.value=a value.value="<value omitted>" value-value=c`,
			want{"nri_value_value": "<redacted>", "nri_value_value_2": "<value omitted>", "nri_value_value_3": "<redacted>"}},
		{"JSON nested env value redacted, MESSAGE too", parser.Options{},
			`{"msg":"add environment variable","value":{"name":"A","value":"s3cr3t"}}`,
			want{"nri_value_value": "<redacted>", "MESSAGE": `{"msg":"add environment variable","value":{"name":"A","value":"<redacted>"}}`}},
		{"JSON env number redacted", parser.Options{},
			`{"msg":"add environment variable","value.name":"N","value.value":42}`,
			want{"nri_value_value": "<redacted>", "MESSAGE": `{"msg":"add environment variable","value.name":"N","value.value":"<redacted>"}`}},
		{"a cut env value is hidden in MESSAGE", parser.Options{},
			env + `value.value="s3cr3t and more`,
			want{"nri_value_value": nil, "nri_event": "AddProcessEnv", "MESSAGE": env + `value.value="<redacted>"`}},
		{"a cut value at Metadata level is hidden in MESSAGE", parser.Options{Policy: &audit.Policy{DefaultLevel: audit.LevelMetadata}},
			`level=info msg="add annotation" nri.plugin=10-a value.key=k value.value="s3cr3t`,
			want{"nri_value_key": nil, "MESSAGE": `level=info msg="add annotation" nri.plugin=10-a value.key="<redacted>" value.value="<redacted>"`}},
		{"a cut value that is no secret stays in MESSAGE", parser.Options{},
			`level=info msg="add annotation" nri.plugin=10-a value.key=k value.value="v`,
			want{"MESSAGE": `level=info msg="add annotation" nri.plugin=10-a value.key=k value.value="v`}},
		{"value.value of other events kept by default", parser.Options{},
			`level=info msg="set linux sysctl" nri.plugin=90-rp value.key=net.core.somaxconn value.value=4096`,
			want{"nri_value_value": "4096"}},
		{"env-looking value on a non-audit line kept", parser.Options{},
			`level=info msg=other value.value=x`,
			want{"nri_value_value": "x"}},
		{"policy redacts sysctl values and a replacement", parser.Options{Policy: &audit.Policy{Replacement: "***",
			RedactKeys: []audit.RedactKey{{Event: "SetLinuxSysctl", Key: "value.value"}}}},
			`level=info msg="set linux sysctl" nri.plugin=90-rp value.key=k value.value=4096`,
			want{"nri_value_value": "***", "MESSAGE": `level=info msg="set linux sysctl" nri.plugin=90-rp value.key=k value.value="***"`}},

		// Rule 8: fields.
		{"legacy device rule from JSON", parser.Options{},
			`{"level":"info","msg":"add linux device rule","value.access":"rwm","value.allow":false,"value.major":10,"value.minor":null,"value.type":"a"}`,
			want{"nri_field": "Devices", "nri_plugin": nil, "nri_plugin_name": nil}},
		{"msg matched exactly", parser.Options{},
			`level=info msg="Add mount" nri.plugin=10-a`,
			want{"nri_event": nil, "nri_op": nil, "nri_field": nil, "nri_plugin_name": []string{"a"}}},
		{"msg with trailing blank is no event", parser.Options{},
			`level=info msg="add mount " nri.plugin=10-a`,
			want{"nri_event": nil}},

		// Rule 9: owners.
		{"unknown: no name or index", parser.Options{},
			`level=info msg="add environment variable" nri.plugin=unknown value.name=PATH value.value=x`,
			want{"nri_plugin": "unknown", "nri_plugin_name": nil, "nri_plugin_index": nil, "nri_removal": nil}},
		{"CDI owners align with devices", parser.Options{},
			`level=info msg="inject CDI devices" nri.plugin="10-a,11-b,10-a" value="vendor.com/gpu=0,vendor.com/gpu=1,vendor.com/nic=0"`,
			want{"nri_plugin_name": []string{"a", "b", "a"}, "nri_plugin_index": []string{"10", "11", "10"}, "nri_value": "vendor.com/gpu=0,vendor.com/gpu=1,vendor.com/nic=0"}},
		{"CDI list with an unknown device owner", parser.Options{},
			`level=info msg="inject CDI devices" nri.plugin="10-a,unknown" value="v.com/x=0,v.com/y=1"`,
			want{"nri_plugin": "10-a,unknown", "nri_plugin_name": []string{"a", "unknown"}, "nri_plugin_index": []string{"10", ""}}},
		{"leading zeros and dashes in names", parser.Options{},
			`level=info msg="add mount" nri.plugin=007-my-cool-plugin`,
			want{"nri_plugin_name": []string{"my-cool-plugin"}, "nri_plugin_index": []string{"007"}}},
		{"owner without index", parser.Options{},
			`level=info msg="add mount" nri.plugin=device-injector`,
			want{"nri_plugin_name": []string{"device-injector"}, "nri_plugin_index": []string{""}}},
		{"empty owner", parser.Options{},
			`level=info msg="add mount" nri.plugin=`,
			want{"nri_plugin": "", "nri_plugin_name": nil, "nri_removal": nil}},
		{"nri.plugin only at the start of the key", parser.Options{},
			`level=info msg=m x.nri.plugin=10-a nri.nri.plugin=11-b`,
			want{"nri_x_nri_plugin": "10-a", "nri_nri_plugin": "11-b", "nri_plugin_name": nil}},

		// Rule 10: renderings.
		{"pointer and <nil> stay strings", parser.Options{},
			`level=info msg="add linux device rule" value.access=rwm value.allow=true value.major=0x3ecf80914538 value.minor="<nil>" value.type=a`,
			want{"nri_value_major": "0x3ecf80914538", "nri_value_minor": "<nil>", "nri_value_allow": "true"}},
		{"protobuf text with a space", parser.Options{},
			`level=info msg="add linux net device" nri.plugin=10-d value.containerif="name: \"net1\"" value.hostif=eth1`,
			want{"nri_value_containerif": `name: "net1"`}},

		// Rule 12: UTF-8 and escapes.
		{"\\x escapes decoded, invalid bytes repaired", parser.Options{},
			"level=info msg=m a=\"\\x41\\xe2\\x82\\xac\" b=\"\\xff\" c=x\xc3 d=\"\\u00e9\\U0001F600\\101\\t\"",
			want{"nri_a": "A€", "nri_b": "\ufffd", "nri_c": "x\ufffd", "nri_d": "é😀A\t", "nri_parse_error": nil}},
		{"invalid bytes in a key", parser.Options{},
			"level=info msg=m k\xff=1 k\xfe=2",
			want{"nri_k\ufffd": "1", "nri_k\ufffd_2": "2"}},

		// Rule 16: sanitizing.
		{"case kept, separators in nested keys", parser.Options{},
			`{"msg":"m","Value.Name":"a","x":{"y-z/w v":"b"},"nri.A":"c"}`,
			want{"nri_Value_Name": "a", "nri_x_y_z_w_v": "b", "nri_A": "c"}},
	}
	runDocCases(t, tests)
}

// TestEveryAuditMessage: each of the 45 messages of the format doc §1.3,
// in text and in JSON, gets its event name, op and api.Field name.
func TestEveryAuditMessage(t *testing.T) {
	catalog := []struct {
		msg, event, op string
		field          any
	}{
		{"remove environment variable", "RemoveProcessEnv", "remove", "Env"},
		{"add environment variable", "AddProcessEnv", "add", "Env"},
		{"set process arguments", "SetProcessArgs", "set", "Args"},
		{"remove annotation", "RemoveAnnotation", "remove", "Annotations"},
		{"add annotation", "AddAnnotation", "add", "Annotations"},
		{"add OCI hook", "AddOCIHook", "add", "OciHooks"},
		{"set linux CPU period", "SetLinuxCPUPeriod", "set", "CPUPeriod"},
		{"set linux CPU quota", "SetLinuxCPUQuota", "set", "CPUQuota"},
		{"set linux CPU shares", "SetLinuxCPUShares", "set", "CPUShares"},
		{"set linux cpuset CPUs", "SetLinuxCPUSetCPUs", "set", "CPUSetCPUs"},
		{"set linux cpuset mems", "SetLinuxCPUSetMems", "set", "CPUSetMems"},
		{"set linux cpu realtime runtime", "SetLinuxCPURealtimeRuntime", "set", "CPURealtimeRuntime"},
		{"set linux cpu realtime period", "SetLinuxCPURealtimePeriod", "set", "CPURealtimePeriod"},
		{"set linux memory limit", "SetLinuxMemLimit", "set", "MemLimit"},
		{"set linux swap limit", "SetLinuxMemSwapLimit", "set", "MemSwapLimit"},
		{"set linux hugepage limit", "SetLinuxHugepageLimit", "set", "HugepageLimits"},
		{"set linux cgroups unified resource", "SetLinuxResourceUnified", "set", "CgroupsUnified"},
		{"set linux PIDs limit", "SetLinuxPidsLimit", "set", "PidsLimit"},
		{"clear linux blkio class", "ClearLinuxBlkioClass", "clear", "BlockioClass"},
		{"set linux blkio class", "SetLinuxBlkioClass", "set", "BlockioClass"},
		{"clear linux RDT class", "ClearLinuxRdtClass", "clear", "RdtClass"},
		{"set linux RDT class", "SetLinuxRdtClass", "set", "RdtClass"},
		{"clear linux RDT", "ClearLinuxRdt", "clear", []string{"RdtClosID", "RdtSchemata", "RdtEnableMonitoring"}},
		{"set linux RDT CLOS ID", "SetLinuxRdtClosID", "set", "RdtClosID"},
		{"set linux RDT schemata", "SetLinuxRdtSchemata", "set", "RdtSchemata"},
		{"set linux RDT monitoring", "SetLinuxRdtMonitoring", "set", "RdtEnableMonitoring"},
		{"set linux cgroups path", "SetLinuxCgroupsPath", "set", "CgroupsPath"},
		{"set process OOM score adjustment", "SetProcessOOMScoreAdj", "set", "OomScoreAdj"},
		{"set process IO priority", "SetLinuxIOPriority", "set", "IoPriority"},
		{"set linux seccomp policy", "SetLinuxSeccompPolicy", "set", "SeccompPolicy"},
		{"remove linux namespace", "RemoveLinuxNamespace", "remove", "Namespace"},
		{"set linux namespace", "SetLinuxNamespace", "set", "Namespace"},
		{"remove linux sysctl", "RemoveLinuxSysctl", "remove", "Sysctl"},
		{"set linux sysctl", "SetLinuxSysctl", "set", "Sysctl"},
		{"set linux scheduler", "SetLinuxScheduler", "set", "LinuxSched"},
		{"remove linux device", "RemoveLinuxDevice", "remove", "Devices"},
		{"add linux device", "AddLinuxDevice", "add", "Devices"},
		{"add linux device rule", "AddLinuxDeviceRule", "add", "Devices"},
		{"remove linux net device", "RemoveLinuxNetDevice", "remove", "LinuxNetDevices"},
		{"add linux net device", "AddLinuxNetDevice", "add", "LinuxNetDevices"},
		{"inject CDI devices", "InjectCDIDevices", "inject", "CdiDevices"},
		{"add process rlimits", "AddProcessRlimits", "add", "Rlimits"},
		{"remove mount", "RemoveMount", "remove", "Mounts"},
		{"add mount", "AddMount", "add", "Mounts"},
		{"set linux root propagation", "SetLinuxRootPropagation", "set", "Mounts"},
	}
	if len(catalog) != len(audit.Events()) {
		t.Fatalf("%d messages here, %d in the catalog", len(catalog), len(audit.Events()))
	}
	for _, c := range catalog {
		text := `time="2026-02-09T16:44:32.545908121Z" level=info msg="` + c.msg + `" nri.plugin=10-p value=1`
		js, _ := json.Marshal(map[string]any{"time": "2026-02-09T16:44:32.545908121Z", "level": "info", "msg": c.msg, "nri.plugin": "10-p", "value": 1})
		for _, line := range []string{text, string(js)} {
			got, _ := doc(t, parser.Options{Mode: parser.ModeAudit}, line)
			if got == nil {
				t.Errorf("%q: dropped in audit mode", line)
				continue
			}
			check(t, got, want{"nri_event": c.event, "nri_op": c.op, "nri_field": c.field, "nri_msg": c.msg,
				"nri_plugin_name": []string{"p"}, "nri_plugin_index": []string{"10"}, "nri_value": "1",
				"@timestamp": "2026-02-09T16:44:32.545908121Z"})
		}
	}
}

// TestJournalFieldsNeverCollide: journal names that equal a derived key or
// @timestamp (hand-made journalctl input, Fluent Bit records) are moved to
// the first free _N, every copy of one name to the same one; a repeated
// MESSAGE stays a string (rules 3, 13, 14).
func TestJournalFieldsNeverCollide(t *testing.T) {
	got, _ := doc(t, parser.Options{}, `level=info msg="add mount" nri.plugin=-10-a event=x`,
		"nri_event", "j1", "nri_event", "j2", "nri_event_3", "real", "@timestamp", "t", "nri_removal", "r",
		"nri_plugin_name", "p", "nri_runtime", "rt", "nri_msg", "m", "MESSAGE", "second")
	check(t, got, want{
		"nri_event": "AddMount", "nri_event_2": "x", "nri_event_4": []string{"j1", "j2"}, "nri_event_3": "real",
		"@timestamp": jt(), "@timestamp_2": "t", "nri_removal": true, "nri_removal_2": "r",
		"nri_plugin_name": []string{"a"}, "nri_plugin_name_2": "p", "nri_runtime": "containerd", "nri_runtime_2": "rt",
		"nri_msg": "m", "nri_msg_2": "add mount",
		"MESSAGE": `level=info msg="add mount" nri.plugin=-10-a event=x`,
	})
	// A journal name that meets no derived key is kept as it is.
	got, _ = doc(t, parser.Options{}, `level=info msg=other`, "nri_event", "j")
	check(t, got, want{"nri_event": "j", "nri_event_2": nil})
}

func jt() string { return journalTime.Format("2006-01-02T15:04:05.000000000Z") }

// TestRuntimeEdgeCases: rule 15 beyond TestRuntimeDetection.
func TestRuntimeEdgeCases(t *testing.T) {
	b, _ := parser.New(parser.Options{})
	cases := []struct {
		fields []audit.JournalField
		want   any
	}{
		{[]audit.JournalField{{Name: "SYSLOG_IDENTIFIER", Value: "containerd-shim-runc-v2"}}, "containerd"},
		{[]audit.JournalField{{Name: "SYSLOG_IDENTIFIER", Value: "crio"}, {Name: "_SYSTEMD_UNIT", Value: "containerd.service"}}, "crio"},
		{[]audit.JournalField{{Name: "_SYSTEMD_UNIT", Value: "crio.service"}}, "crio"},
		{[]audit.JournalField{{Name: "_SYSTEMD_UNIT", Value: "k3s.service"}}, nil},
		// An empty identifier names nothing: the unit decides.
		{[]audit.JournalField{{Name: "SYSLOG_IDENTIFIER", Value: ""}, {Name: "_SYSTEMD_UNIT", Value: "crio.service"}}, "crio"},
		{[]audit.JournalField{{Name: "SYSLOG_IDENTIFIER", Value: ""}}, nil},
		// A repeated identifier: its first value.
		{[]audit.JournalField{{Name: "SYSLOG_IDENTIFIER", Value: "k3s", More: []string{"containerd"}}}, "k3s"},
	}
	for _, c := range cases {
		e := &audit.Entry{Realtime: journalTime, Fields: append(c.fields, audit.JournalField{Name: "MESSAGE", Value: "level=info msg=m"})}
		var r audit.Record
		b.Build(e, &r)
		f, ok := r.Get("nri_runtime")
		switch {
		case c.want == nil && ok:
			t.Errorf("%v: nri_runtime = %q, want absent", c.fields, f.Str)
		case c.want != nil && (!ok || f.Str != c.want):
			t.Errorf("%v: nri_runtime = %q, want %q", c.fields, f.Str, c.want)
		}
	}
}

// TestModeEdgeCases: unparseable and half-parsed lines are shipped in every
// mode; a JSON {} parses, so the modes judge it like any line.
func TestModeEdgeCases(t *testing.T) {
	for _, mode := range []parser.Mode{parser.ModeAll, parser.ModeAudit, parser.ModeNRI} {
		for _, line := range []string{`panic: boom`, `level=info msg="unterminated`, `[1,2]`, `{"msg":`, `level=info k="a\q"`} {
			if _, ok := doc(t, parser.Options{Mode: mode}, line); !ok {
				t.Errorf("mode %s dropped unparseable %q", mode, line)
			}
		}
		_, ok := doc(t, parser.Options{Mode: mode}, `{}`)
		if ok != (mode == parser.ModeAll) {
			t.Errorf("mode %s: {} kept=%v", mode, ok)
		}
		_, ok = doc(t, parser.Options{Mode: mode}, `level=error msg="x" error="plugin \"10-x\": boom"`)
		if !ok {
			t.Errorf("mode %s dropped an attributed error", mode)
		}
		_, ok = doc(t, parser.Options{Mode: mode}, `level=warning msg="NRI: something odd"`)
		if !ok {
			t.Errorf("mode %s dropped an NRI warning", mode)
		}
		_, ok = doc(t, parser.Options{Mode: mode}, `level=info msg=other nri.plugin=10-a`)
		if ok != (mode != parser.ModeAudit) {
			t.Errorf("mode %s: nri.* line kept=%v", mode, ok)
		}
	}
}

// TestNoDuplicateKeysHostile: keys crafted to collide in every way give a
// valid document without duplicate keys (doc checks it).
func TestNoDuplicateKeysHostile(t *testing.T) {
	var sb strings.Builder
	sb.WriteString(`level=info msg="add mount" nri.plugin=-10-a`)
	for _, k := range []string{"event", "event_2", "nri.event", "nri.event_2", "event.2", "op", "field", "plugin_name", "plugin-index",
		"removal", "runtime", "error_plugin", "parse_error", "@timestamp", "time", "msg", "level", "nri.plugin", "plugin"} {
		sb.WriteString(" " + k + "=1 " + k + "=2")
	}
	got, _ := doc(t, parser.Options{}, sb.String(), "nri_event_3", "j", "nri_op", "j", "@timestamp", "j")
	check(t, got, want{"nri_event": "AddMount", "nri_op": "add", "nri_removal": true})
}

// FuzzJournalNames: whatever the journal names (derived keys, @timestamp,
// MESSAGE again, prefixed names) and the line, the document is valid JSON
// with unique keys and MESSAGE is a string.
func FuzzJournalNames(f *testing.F) {
	f.Add("nri_event", "nri_event", "@timestamp", `level=info msg="add mount" nri.plugin=-10-a event=x`, uint8(1))
	f.Add("MESSAGE", "nri_runtime", "nri_event_2", `level=error msg=x error="plugin \"10-x\": y"`, uint8(6))
	f.Add("nri_msg", "nri_msg_2", "nri_removal", `{"msg":"add environment variable","value.value":"s"}`, uint8(0))
	b, err := parser.New(parser.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, n1, n2, n3, msg string, rep uint8) {
		e := &audit.Entry{Realtime: journalTime}
		e.Add("SYSLOG_IDENTIFIER", "containerd")
		e.Add("MESSAGE", msg)
		e.Add(n1, "a")
		e.Add(n2, "b")
		e.Add(n3, "c")
		for i := range e.Fields {
			if rep&(1<<i) != 0 {
				e.Fields[i].More = []string{"m1", "m2"}
			}
		}
		var r audit.Record
		if !b.Build(e, &r) {
			t.Fatal("dropped")
		}
		out := r.AppendJSON(nil)
		if !json.Valid(out) {
			t.Fatalf("invalid JSON %q", out)
		}
		var again audit.Record // a known shape builds the same document
		if !b.Build(e, &again) || string(again.AppendJSON(nil)) != string(out) {
			t.Fatalf("second build differs from %s", out)
		}
		seen := map[string]bool{audit.TimestampKey: true}
		for _, fl := range r.Fields {
			if seen[fl.Key] {
				t.Fatalf("duplicate key %q in %s", fl.Key, out)
			}
			seen[fl.Key] = true
		}
		if m, ok := r.Get("MESSAGE"); !ok || m.Kind != audit.String {
			t.Fatalf("MESSAGE %+v in %s", m, out)
		}
	})
}
