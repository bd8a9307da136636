package nritest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/containerd/nri/pkg/adaptation"
	"github.com/containerd/nri/pkg/api"
	"github.com/containerd/nri/pkg/stub"
)

// QuietLogger discards the NRI packages' messages. Install it once, in
// TestMain, with log.Set: setting the NRI logger is not synchronized.
type QuietLogger struct{}

func (QuietLogger) Debugf(context.Context, string, ...any) {}
func (QuietLogger) Infof(context.Context, string, ...any)  {}
func (QuietLogger) Warnf(context.Context, string, ...any)  {}
func (QuietLogger) Errorf(context.Context, string, ...any) {}

// Runtime is an in-process NRI runtime.
type Runtime struct {
	t testing.TB
	// Dir is a temporary directory, short enough for socket names.
	Dir string
	// Socket is the NRI socket plugins connect to.
	Socket string
	// NRI is the runtime side of NRI.
	NRI   *adaptation.Adaptation
	stubs []stub.Stub
}

// StartRuntime starts a runtime called name/version on a new socket; the
// test's cleanup stops it.
func StartRuntime(t testing.TB, name, version string) *Runtime {
	t.Helper()
	// t.TempDir() paths can exceed the 108-byte limit of socket names.
	dir, err := os.MkdirTemp("", "nri-")
	if err != nil {
		t.Fatal(err)
	}
	rt := &Runtime{t: t, Dir: dir, Socket: filepath.Join(dir, "nri.sock")}
	syncFn := func(ctx context.Context, cb adaptation.SyncCB) error {
		_, err := cb(ctx, nil, nil)
		return err
	}
	update := func(context.Context, []*api.ContainerUpdate) ([]*api.ContainerUpdate, error) { return nil, nil }
	rt.NRI, err = adaptation.New(name, version, syncFn, update,
		adaptation.WithPluginPath(filepath.Join(dir, "plugins")),
		adaptation.WithPluginConfigPath(filepath.Join(dir, "conf.d")),
		adaptation.WithSocketPath(rt.Socket),
	)
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.NRI.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, s := range rt.stubs {
			s.Stop()
		}
		rt.NRI.Stop()
		os.RemoveAll(dir)
	})
	return rt
}

// Synced tells when the runtime has synchronized a plugin; embed it and
// call Signal from the plugin's Synchronize.
type Synced struct {
	once sync.Once
	ch   chan struct{}
	mu   sync.Mutex
}

func (s *Synced) chanLocked() chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch == nil {
		s.ch = make(chan struct{})
	}
	return s.ch
}

// Signal marks the plugin synchronized.
func (s *Synced) Signal() {
	ch := s.chanLocked()
	s.once.Do(func() { close(ch) })
}

// Done is closed once Signal was called.
func (s *Synced) Done() <-chan struct{} { return s.chanLocked() }

// Registered waits until a plugin whose Synchronize has run is in the
// runtime's plugin list: Synchronize runs while the runtime holds its
// plugin-sync lock, so getting the read lock means registration is done.
func (rt *Runtime) Registered() {
	rt.NRI.BlockPluginSync().Unblock()
}

// Connect starts a stub for p as "<idx>-<name>" and waits until the
// runtime has registered it (ready is p's Synced).
func (rt *Runtime) Connect(p any, ready *Synced, name, idx string) {
	rt.t.Helper()
	s, err := stub.New(p, stub.WithPluginName(name), stub.WithPluginIdx(idx),
		stub.WithSocketPath(rt.Socket), stub.WithLogger(QuietLogger{}))
	if err != nil {
		rt.t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		rt.t.Fatal(err)
	}
	rt.stubs = append(rt.stubs, s)
	select {
	case <-ready.Done():
	case <-time.After(10 * time.Second):
		rt.t.Fatalf("plugin %s-%s not synchronized", idx, name)
	}
	rt.Registered()
}

// Adjuster makes a plugin's adjustment of a container.
type Adjuster func(*api.Container) *api.ContainerAdjustment

// Mutator is a test plugin that adjusts every container it sees.
type Mutator struct {
	Synced
	Adjust Adjuster
}

// Synchronize signals the registration.
func (m *Mutator) Synchronize(context.Context, []*api.PodSandbox, []*api.Container) ([]*api.ContainerUpdate, error) {
	m.Signal()
	return nil, nil
}

// CreateContainer returns the plugin's adjustment.
func (m *Mutator) CreateContainer(_ context.Context, _ *api.PodSandbox, c *api.Container) (*api.ContainerAdjustment, []*api.ContainerUpdate, error) {
	return m.Adjust(c), nil, nil
}

// ConnectMutator connects a Mutator as "<idx>-<name>".
func (rt *Runtime) ConnectMutator(name, idx string, adjust Adjuster) {
	rt.t.Helper()
	m := &Mutator{Adjust: adjust}
	rt.Connect(m, &m.Synced, name, idx)
}

// Pod is the pod of every test container.
var Pod = &api.PodSandbox{
	Id: "6a1f1d0c2b11", Name: "web-0", Namespace: "default", Uid: "0c6e2c7e-1a8e-4d8e-9a53-6a1f1d0c2b11",
}

// Container returns a test container as the runtime describes it before
// any plugin: three env variables, one bind mount (/old).
func Container(id string) *api.Container {
	return &api.Container{
		Id:           id,
		PodSandboxId: Pod.Id,
		Name:         "app",
		Args:         []string{"/app"},
		Env:          []string{"PATH=/usr/bin", "HOSTNAME=web-0", "DB_PASSWORD=old-secret"},
		Mounts:       []*api.Mount{{Destination: "/old", Source: "/host/old", Type: "bind", Options: []string{"rbind"}}},
		Linux:        &api.LinuxContainer{},
	}
}

// Create runs a CreateContainer of Container(id) in Pod through NRI.
func (rt *Runtime) Create(id string) (*api.CreateContainerResponse, error) {
	return rt.NRI.CreateContainer(context.Background(), &api.CreateContainerRequest{Pod: Pod, Container: Container(id)})
}

// Injector is a device-injector-like plugin: an annotation, an env
// override and a new variable, a device, a bind mount, the removal of the
// spec's /old mount, an OCI hook and a CDI device.
func Injector(*api.Container) *api.ContainerAdjustment {
	a := &api.ContainerAdjustment{}
	a.AddAnnotation("devices.example.com/gpu", "0")
	a.AddEnv("DB_PASSWORD", "new-secret")
	a.AddEnv("NEW_TOKEN", "tok-123")
	a.AddDevice(&api.LinuxDevice{Path: "/dev/nvidia0", Type: "c", Major: 195, Minor: 0})
	a.AddMount(&api.Mount{Destination: "/data", Source: "/mnt/data", Type: "bind", Options: []string{"rbind", "ro"}})
	a.RemoveMount("/old")
	a.AddHooks(&api.Hooks{Prestart: []*api.Hook{{Path: "/usr/local/bin/gpu-hook"}}})
	a.AddCDIDevice(&api.CDIDevice{Name: "vendor.com/gpu=0"})
	return a
}

// Policy is a resource-policy-like plugin: CPU, memory, hugepage and PIDs
// limits, an rlimit, a sysctl, an OCI hook, and the removal of the
// Injector's /data mount.
func Policy(*api.Container) *api.ContainerAdjustment {
	a := &api.ContainerAdjustment{}
	a.SetLinuxCPUShares(512)
	a.SetLinuxCPUSetCPUs("2-3")
	a.SetLinuxMemoryLimit(536870912)
	a.AddLinuxHugepageLimit("2MB", 4194304)
	a.SetLinuxPidLimits(1024)
	a.AddRlimit("RLIMIT_NOFILE", 65536, 1024)
	a.SetLinuxSysctl("net.core.somaxconn", "4096")
	a.RemoveMount("/data")
	a.AddHooks(&api.Hooks{Prestart: []*api.Hook{{Path: "/usr/local/bin/policy-hook"}}})
	return a
}

// ManyAdjustments makes n adjustments split over two plugins: env
// variables, devices and annotations in the first, mounts, sysctls and
// unified cgroup resources in the second.
func ManyAdjustments(n int) (first, second Adjuster) {
	first = func(*api.Container) *api.ContainerAdjustment {
		a := &api.ContainerAdjustment{}
		for i := 0; i < n/2; i++ {
			switch i % 3 {
			case 0:
				a.AddEnv(fmt.Sprintf("VAR_%d", i), fmt.Sprintf("value-%d", i))
			case 1:
				a.AddDevice(&api.LinuxDevice{Path: fmt.Sprintf("/dev/test%d", i), Type: "c", Major: 240, Minor: int64(i)})
			case 2:
				a.AddAnnotation(fmt.Sprintf("example.com/a%d", i), "x")
			}
		}
		return a
	}
	second = func(*api.Container) *api.ContainerAdjustment {
		a := &api.ContainerAdjustment{}
		for i := 0; i < n-n/2; i++ {
			switch i % 3 {
			case 0:
				a.AddMount(&api.Mount{Destination: fmt.Sprintf("/data/%d", i), Source: fmt.Sprintf("/mnt/%d", i), Type: "bind", Options: []string{"rbind", "ro"}})
			case 1:
				a.SetLinuxSysctl(fmt.Sprintf("net.ipv4.conf.eth%d.forwarding", i), "1")
			case 2:
				a.AddLinuxUnified(fmt.Sprintf("test.key%d", i), "max")
			}
		}
		return a
	}
	return first, second
}
