package nrivalidator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/containerd/nri/pkg/api"

	"github.com/nri-audit/nri-audit/adjustlog"
)

// Defaults of Options.
const (
	// DefaultWriteTimeout stays well below NRI's default plugin request
	// timeout (2 s), which fails the container creation when exceeded.
	DefaultWriteTimeout = 500 * time.Millisecond
	DefaultQueueSize    = 64
)

// Options configure a Validator.
type Options struct {
	// Sink receives the lines; required.
	Sink Sink
	// Lines select what is written (env values, untouched env).
	Lines adjustlog.Options
	// FailClosed rejects the container when its lines cannot be written
	// (sink error, full queue, WriteTimeout). Off: always approve.
	FailClosed bool
	// WriteTimeout bounds how long a request waits for its lines to be
	// written; 0 means DefaultWriteTimeout.
	WriteTimeout time.Duration
	// QueueSize is how many adjustments may wait for the writer; 0 means
	// DefaultQueueSize.
	QueueSize int
	// Logger gets operational messages (never audit lines); nil means
	// slog.Default().
	Logger *slog.Logger
	// Clock stamps the lines; nil means time.Now.
	Clock func() time.Time
}

// Stats count what the validator did.
type Stats struct {
	// Requests is the number of validation requests seen.
	Requests uint64
	// Lines is the number of audit lines built; Written of those written.
	Lines, Written uint64
	// Failed counts adjustments whose lines the sink failed to write,
	// Dropped those that found the queue full or the validator closed, and
	// TimedOut the requests answered before their lines were written.
	Failed, Dropped, TimedOut uint64
}

type batch struct {
	lines []adjustlog.Line
	id    adjustlog.Identity
	done  chan error
}

// Validator is the NRI plugin. It implements the stub's Configure,
// Synchronize and ValidateContainerAdjustment handlers.
type Validator struct {
	sink       Sink
	builder    *adjustlog.Builder
	failClosed bool
	timeout    time.Duration
	log        *slog.Logger
	clock      func() time.Time

	runtimeMu      sync.Mutex
	runtimeName    string
	runtimeVersion string

	queue     chan *batch
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once

	requests, lines, written, failed, dropped, timedOut atomic.Uint64

	lastWarn   atomic.Int64
	suppressed atomic.Uint64
}

// New validates opts and starts the writer goroutine; Close stops it.
func New(opts Options) (*Validator, error) {
	if opts.Sink == nil {
		return nil, errors.New("nrivalidator: no sink")
	}
	if opts.WriteTimeout < 0 || opts.QueueSize < 0 {
		return nil, errors.New("nrivalidator: negative write timeout or queue size")
	}
	b, err := adjustlog.New(opts.Lines)
	if err != nil {
		return nil, fmt.Errorf("nrivalidator: %w", err)
	}
	v := &Validator{
		sink:       opts.Sink,
		builder:    b,
		failClosed: opts.FailClosed,
		timeout:    opts.WriteTimeout,
		log:        opts.Logger,
		clock:      opts.Clock,
		stop:       make(chan struct{}),
		done:       make(chan struct{}),
	}
	if v.timeout == 0 {
		v.timeout = DefaultWriteTimeout
	}
	if opts.QueueSize == 0 {
		opts.QueueSize = DefaultQueueSize
	}
	if v.log == nil {
		v.log = slog.Default()
	}
	if v.clock == nil {
		v.clock = time.Now
	}
	v.queue = make(chan *batch, opts.QueueSize)
	go v.writer()
	return v, nil
}

// Configure records the runtime's name, which the lines carry as
// runtime.name. The plugin subscribes to its handlers' events only.
func (v *Validator) Configure(_ context.Context, config, runtime, version string) (api.EventMask, error) {
	v.runtimeMu.Lock()
	v.runtimeName, v.runtimeVersion = runtime, version
	v.runtimeMu.Unlock()
	v.log.Info("configured by runtime", "runtime", runtime, "version", version)
	if nri, ok := predatesValidation(runtime, version); ok {
		v.log.Warn("the runtime's NRI predates validation plugins (NRI v0.10.0: containerd 2.2, CRI-O 1.34); no adjustment will reach the validator",
			"runtime", runtime, "version", version, "nri_version", nri)
	}
	if config != "" {
		v.log.Warn("ignoring the plugin configuration the runtime passed; use flags")
	}
	return 0, nil
}

// Synchronize is called once the plugin is connected; the validator keeps
// no container state.
func (v *Validator) Synchronize(_ context.Context, pods []*api.PodSandbox, ctrs []*api.Container) ([]*api.ContainerUpdate, error) {
	v.log.Info("synchronized with runtime", "pods", len(pods), "containers", len(ctrs))
	return nil, nil
}

// predatesValidation reports whether the runtime's NRI version, as NRI
// infers it from the runtime version, is older than v0.10.0. Unknown
// versions are not reported.
func predatesValidation(runtime, version string) (string, bool) {
	nri, err := api.InferVersionFromRuntime(runtime, version)
	if err != nil {
		return "", false
	}
	var major, minor int
	if _, err := fmt.Sscanf(nri, "v%d.%d", &major, &minor); err != nil {
		return nri, false
	}
	return nri, major == 0 && minor < 10
}

func (v *Validator) runtime() string {
	v.runtimeMu.Lock()
	defer v.runtimeMu.Unlock()
	return v.runtimeName
}

var (
	errQueueFull = errors.New("write queue full")
	errClosed    = errors.New("validator closed")
	errTimeout   = errors.New("write timed out")
)

// ValidateContainerAdjustment writes the audit lines of the adjustment and
// approves it. With FailClosed, it rejects when the lines could not be
// written within the write timeout.
func (v *Validator) ValidateContainerAdjustment(ctx context.Context, req *api.ValidateContainerAdjustmentRequest) error {
	v.requests.Add(1)
	id := adjustlog.IdentityOf(req, v.runtime())
	lines := v.builder.Build(nil, req, id, v.clock)
	if len(lines) == 0 {
		return nil
	}
	v.lines.Add(uint64(len(lines)))
	b := &batch{lines: lines, id: id, done: make(chan error, 1)}
	select {
	case <-v.stop:
		return v.fail(id, len(lines), errClosed, &v.dropped)
	default:
	}
	select {
	case v.queue <- b:
	default:
		return v.fail(id, len(lines), errQueueFull, &v.dropped)
	}
	t := time.NewTimer(v.timeout)
	defer t.Stop()
	select {
	case err := <-b.done:
		if err != nil {
			return v.fail(id, len(lines), err, nil)
		}
		return nil
	case <-t.C:
		return v.fail(id, len(lines), errTimeout, &v.timedOut)
	case <-ctx.Done():
		return v.fail(id, len(lines), ctx.Err(), &v.timedOut)
	}
}

// fail counts and reports lines not written; the error is the answer to
// the runtime: nil (approve) unless fail-closed.
func (v *Validator) fail(id adjustlog.Identity, n int, err error, counter *atomic.Uint64) error {
	if counter != nil {
		counter.Add(1)
	}
	v.warn("audit lines not written", "container", id.ContainerID, "pod", id.PodNamespace+"/"+id.PodName,
		"lines", n, "err", err, "fail_closed", v.failClosed)
	if !v.failClosed {
		return nil
	}
	return fmt.Errorf("nri-audit: audit lines for container %s not written: %w", id.ContainerID, err)
}

// warn logs at most once a second, counting what it held back.
func (v *Validator) warn(msg string, args ...any) {
	now := time.Now().UnixNano()
	last := v.lastWarn.Load()
	if now-last < int64(time.Second) || !v.lastWarn.CompareAndSwap(last, now) {
		v.suppressed.Add(1)
		return
	}
	if n := v.suppressed.Swap(0); n > 0 {
		args = append(args, "suppressed", n)
	}
	v.log.Warn(msg, args...)
}

func (v *Validator) writer() {
	defer close(v.done)
	for {
		select {
		case b := <-v.queue:
			v.write(b)
		case <-v.stop:
			for {
				select {
				case b := <-v.queue:
					v.write(b)
				default:
					return
				}
			}
		}
	}
}

func (v *Validator) write(b *batch) {
	err := v.sink.Write(b.lines, b.id)
	if err != nil {
		v.failed.Add(1)
	} else {
		v.written.Add(uint64(len(b.lines)))
	}
	b.done <- err
}

// Close writes what is queued and stops the writer.
func (v *Validator) Close() error {
	v.closeOnce.Do(func() { close(v.stop) })
	<-v.done
	return nil
}

// Stats returns the counters.
func (v *Validator) Stats() Stats {
	return Stats{
		Requests: v.requests.Load(),
		Lines:    v.lines.Load(),
		Written:  v.written.Load(),
		Failed:   v.failed.Load(),
		Dropped:  v.dropped.Load(),
		TimedOut: v.timedOut.Load(),
	}
}
