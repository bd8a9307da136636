package nrivalidator

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/containerd/nri/pkg/api"
	nrilog "github.com/containerd/nri/pkg/log"
	"github.com/containerd/nri/pkg/stub"
)

// Defaults of ServeOptions.
const (
	DefaultPluginName = "nri-audit-validator"
	// DefaultPluginIndex is high, as validators usually are; the runtime
	// calls validators after all mutating plugins whatever their index.
	DefaultPluginIndex = "99"
	DefaultRetryMin    = time.Second
	DefaultRetryMax    = 30 * time.Second
)

// ServeOptions say how to reach the runtime.
type ServeOptions struct {
	// Name and Index register the plugin as "<Index>-<Name>"; defaults
	// DefaultPluginName and DefaultPluginIndex. A plugin the runtime
	// launched itself (NRI_PLUGIN_SOCKET set) takes both from the runtime.
	Name, Index string
	// SocketPath is the runtime's NRI socket; "" means /var/run/nri/nri.sock.
	SocketPath string
	// Logger gets the stub's messages; nil means slog.Default().
	Logger *slog.Logger
	// RetryMin and RetryMax bound the backoff between connection attempts.
	RetryMin, RetryMax time.Duration
}

// Serve connects plugin (a *Validator, or a type embedding one) to the
// runtime and reconnects with backoff whenever the connection fails or
// closes (a runtime restart), until ctx is done. It returns nil when ctx
// ends it, and an error when the plugin cannot be set up at all or when a
// runtime-launched plugin loses its connection.
func Serve(ctx context.Context, plugin any, o ServeOptions) error {
	if o.Name == "" {
		o.Name = DefaultPluginName
	}
	if o.Index == "" {
		o.Index = DefaultPluginIndex
	}
	if o.SocketPath == "" {
		o.SocketPath = api.DefaultSocketPath
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.RetryMin <= 0 {
		o.RetryMin = DefaultRetryMin
	}
	if o.RetryMax < o.RetryMin {
		o.RetryMax = max(DefaultRetryMax, o.RetryMin)
	}
	launched := os.Getenv(api.PluginSocketEnvVar) != ""
	opts := []stub.Option{
		stub.WithLogger(NRILogger(o.Logger)),
		// A request timeout must not cost the connection: later
		// containers would go unaudited until the next reconnect.
		stub.WithFailurePolicy(&api.FailurePolicy{KeepConnected: true}),
	}
	if !launched {
		opts = append(opts, stub.WithPluginName(o.Name), stub.WithPluginIdx(o.Index), stub.WithSocketPath(o.SocketPath))
	}
	wait := o.RetryMin
	for {
		s, err := stub.New(plugin, opts...)
		if err != nil {
			return fmt.Errorf("nrivalidator: create plugin: %w", err)
		}
		start := time.Now()
		err = s.Run(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if launched {
			return fmt.Errorf("nrivalidator: connection to the runtime that launched the plugin: %w", err)
		}
		if time.Since(start) > o.RetryMax {
			wait = o.RetryMin // it was connected a while: start over
		}
		o.Logger.Warn("not connected to the runtime; retrying", "socket", o.SocketPath, "err", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(2*wait, o.RetryMax)
	}
}

// NRILogger adapts slog to the logger of the NRI packages.
func NRILogger(l *slog.Logger) nrilog.Logger { return nriLogger{l} }

type nriLogger struct{ l *slog.Logger }

func (n nriLogger) logf(ctx context.Context, level slog.Level, format string, args []any) {
	if n.l.Enabled(ctx, level) {
		n.l.Log(ctx, level, fmt.Sprintf(format, args...), "component", "nri")
	}
}

func (n nriLogger) Debugf(ctx context.Context, format string, args ...any) {
	n.logf(ctx, slog.LevelDebug, format, args)
}

func (n nriLogger) Infof(ctx context.Context, format string, args ...any) {
	n.logf(ctx, slog.LevelInfo, format, args)
}

func (n nriLogger) Warnf(ctx context.Context, format string, args ...any) {
	n.logf(ctx, slog.LevelWarn, format, args)
}

func (n nriLogger) Errorf(ctx context.Context, format string, args ...any) {
	n.logf(ctx, slog.LevelError, format, args)
}
