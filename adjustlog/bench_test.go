package adjustlog

import (
	"fmt"
	"testing"

	"github.com/containerd/nri/pkg/api"
)

// bigRequest is an adjustment of n changes (env, devices, mounts,
// sysctls), each owned by a plugin.
func bigRequest(n int) *api.ValidateContainerAdjustmentRequest {
	adj := &api.ContainerAdjustment{}
	o := newOwners()
	for i := 0; i < n; i++ {
		switch i % 4 {
		case 0:
			k := fmt.Sprintf("VAR_%d", i)
			adj.AddEnv(k, "value")
			o.compound(api.Field_Env, k, "10-device-injector")
		case 1:
			p := fmt.Sprintf("/dev/test%d", i)
			adj.AddDevice(&api.LinuxDevice{Path: p, Type: "c", Major: 240, Minor: int64(i)})
			o.compound(api.Field_Devices, p, "10-device-injector")
		case 2:
			d := fmt.Sprintf("/data/%d", i)
			adj.AddMount(&api.Mount{Destination: d, Source: "/mnt" + d, Type: "bind", Options: []string{"rbind", "ro"}})
			o.compound(api.Field_Mounts, d, "90-resource-policy")
		case 3:
			k := fmt.Sprintf("net.ipv4.conf.eth%d.forwarding", i)
			adj.SetLinuxSysctl(k, "1")
			o.compound(api.Field_Sysctl, k, "90-resource-policy")
		}
	}
	return request(&api.Container{Name: "app", Env: []string{"PATH=/usr/bin"}}, adj, o)
}

// BenchmarkBuildRender100 is the validator's own work for 100 changes:
// build the lines and render them (text, then JSON).
func BenchmarkBuildRender100(b *testing.B) {
	req := bigRequest(100)
	id := IdentityOf(req, "containerd")
	bld := mustBuilder(b, Options{})
	for _, format := range []string{"text", "json"} {
		b.Run(format, func(b *testing.B) {
			var lines []Line
			var buf []byte
			render := func() {
				lines = bld.Build(lines[:0], req, id, fixedClock)
				buf = buf[:0]
				for i := range lines {
					if format == "json" {
						buf = lines[i].AppendJSON(buf)
					} else {
						buf = lines[i].AppendText(buf)
					}
					buf = append(buf, '\n')
				}
			}
			render()
			b.SetBytes(int64(len(buf)))
			b.ReportMetric(float64(len(lines)), "lines/op")
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				render()
			}
		})
	}
}
