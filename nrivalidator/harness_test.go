package nrivalidator

import (
	"bytes"
	"context"
	"os"
	"sync"
	"testing"

	"github.com/containerd/nri/pkg/api"
	nrilog "github.com/containerd/nri/pkg/log"

	"github.com/nri-audit/nri-audit/internal/nritest"
)

// TestMain quiets the NRI packages' global logger once: setting it is not
// synchronized with the goroutines that use it.
func TestMain(m *testing.M) {
	nrilog.Set(nritest.QuietLogger{})
	os.Exit(m.Run())
}

// testValidator is our Validator, telling when it is registered.
type testValidator struct {
	*Validator
	nritest.Synced
}

func (v *testValidator) Synchronize(ctx context.Context, pods []*api.PodSandbox, ctrs []*api.Container) ([]*api.ContainerUpdate, error) {
	u, err := v.Validator.Synchronize(ctx, pods, ctrs)
	v.Signal()
	return u, err
}

func connectValidator(rt *nritest.Runtime, v *Validator) {
	tv := &testValidator{Validator: v}
	rt.Connect(tv, &tv.Synced, DefaultPluginName, DefaultPluginIndex)
}

// syncBuffer is a goroutine-safe bytes.Buffer.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) Lines() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, l := range bytes.Split(bytes.TrimSuffix(b.buf.Bytes(), []byte("\n")), []byte("\n")) {
		if len(l) > 0 {
			out = append(out, string(l))
		}
	}
	return out
}
