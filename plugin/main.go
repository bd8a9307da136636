// Command plugin is the Fluent Bit Go output plugin out_nri_audit.so,
// registered as the output "nri_audit". Build it with
//
//	go build -buildmode=c-shared -o out_nri_audit.so ./plugin
//
// This file holds only the cgo exports Fluent Bit resolves with dlsym and
// the mapping of flbout results to FLB codes; everything else is in the
// pure-Go package flbout. Every export recovers from panics: a Go panic in
// a c-shared object would abort the whole Fluent Bit process.
package main

/*
#include <stdlib.h>
*/
import "C"

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/fluent/fluent-bit-go/output"

	"github.com/nri-audit/nri-audit/flbout"
)

const (
	pluginName = "nri_audit"
	pluginDesc = "NRI audit events from the journal to Elasticsearch"
)

// slot is what FLBPluginSetContext stores per instance. fluent-bit-go never
// deletes its context map entries, so the slot is kept tiny and its output
// is detached at exit: a hot reload leaks a few dozen bytes, not an output.
type slot struct {
	id  int64
	out atomic.Pointer[flbout.Output]
}

var (
	nextID atomic.Int64
	// live holds the instances not yet exited, for FLBPluginExit (the
	// context-less exit) and FLBPluginUnregister.
	live      sync.Map // *slot → struct{}
	hotReload atomic.Bool
)

// pluginLog is the logger of calls that have no instance (yet).
func pluginLog() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, nil)).With("plugin", pluginName)
}

// guard turns a panic into a log line and the given return code.
func guard(where string, rc *int, onPanic int) {
	if r := recover(); r != nil {
		pluginLog().Error("panic recovered", "call", where, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		*rc = onPanic
	}
}

func main() {}

//export FLBPluginPreRegister
func FLBPluginPreRegister(hotReloading C.int) (rc int) {
	defer guard("FLBPluginPreRegister", &rc, 0)
	hotReload.Store(hotReloading != 0)
	return 0
}

//export FLBPluginRegister
func FLBPluginRegister(def unsafe.Pointer) (rc int) {
	defer guard("FLBPluginRegister", &rc, -1)
	return output.FLBPluginRegister(def, pluginName, pluginDesc)
}

// config reads instance keys; valid only during FLBPluginInit.
type config struct{ plugin unsafe.Pointer }

func (c config) Get(key string) string { return output.FLBPluginConfigKey(c.plugin, key) }

//export FLBPluginInit
func FLBPluginInit(plugin unsafe.Pointer) (rc int) {
	defer guard("FLBPluginInit", &rc, output.FLB_ERROR)
	id := nextID.Add(1) - 1
	cfg, err := flbout.ParseConfig(config{plugin})
	if err != nil {
		pluginLog().Error("init failed", "instance", id, "error", err.Error())
		return output.FLB_ERROR
	}
	log := flbout.NewLogger(os.Stderr, cfg.LogLevel).With("plugin", pluginName, "instance", id)
	out, err := flbout.New(context.Background(), cfg, log)
	if err != nil {
		log.Error("init failed", "error", err.Error())
		return output.FLB_ERROR
	}
	s := &slot{id: id}
	s.out.Store(out)
	live.Store(s, struct{}{})
	output.FLBPluginSetContext(plugin, s)
	log.Info("initialized", "hot_reload", hotReload.Load())
	return output.FLB_OK
}

// instance returns the output of a Fluent Bit context, or nil.
func instance(ctx unsafe.Pointer) (*slot, *flbout.Output) {
	if ctx == nil {
		return nil, nil
	}
	s, ok := output.FLBPluginGetContext(ctx).(*slot)
	if !ok || s == nil {
		return nil, nil
	}
	return s, s.out.Load()
}

//export FLBPluginFlushCtx
func FLBPluginFlushCtx(ctx, data unsafe.Pointer, length C.int, tag *C.char) (rc int) {
	// A panic here is a bug, possibly transient; RETRY keeps the chunk
	// (bounded by Retry_Limit) instead of dropping it.
	defer guard("FLBPluginFlushCtx", &rc, output.FLB_RETRY)
	_, out := instance(ctx)
	if out == nil {
		pluginLog().Error("flush with an unknown or closed context: chunk rejected (did Init fail?)")
		return output.FLB_ERROR
	}
	if data == nil || length <= 0 {
		return output.FLB_OK
	}
	// The buffer is Fluent Bit's and valid during this call only: FlushCopy
	// copies it into a Go-owned buffer before decoding.
	src := unsafe.Slice((*byte)(data), int(length))
	return code(out.FlushCopy(src))
}

// FLBPluginFlush is the context-less flush; Fluent Bit only uses it when
// FLBPluginFlushCtx is missing, so it never runs with this plugin.
//
//export FLBPluginFlush
func FLBPluginFlush(data unsafe.Pointer, length C.int, tag *C.char) (rc int) {
	defer guard("FLBPluginFlush", &rc, output.FLB_RETRY)
	pluginLog().Error("context-less flush is not supported: chunk rejected")
	return output.FLB_ERROR
}

func code(s flbout.Status) int {
	switch s {
	case flbout.StatusOK:
		return output.FLB_OK
	case flbout.StatusRetry:
		return output.FLB_RETRY
	}
	return output.FLB_ERROR
}

func closeSlot(s *slot) {
	if out := s.out.Swap(nil); out != nil {
		out.Close()
	}
	live.Delete(s)
}

//export FLBPluginExitCtx
func FLBPluginExitCtx(ctx unsafe.Pointer) (rc int) {
	defer guard("FLBPluginExitCtx", &rc, output.FLB_ERROR)
	s, _ := instance(ctx)
	if s == nil {
		pluginLog().Error("exit with an unknown context")
		return output.FLB_ERROR
	}
	closeSlot(s)
	return output.FLB_OK
}

// FLBPluginExit closes every instance still open. Fluent Bit calls it only
// when FLBPluginExitCtx is missing.
//
//export FLBPluginExit
func FLBPluginExit() (rc int) {
	defer guard("FLBPluginExit", &rc, output.FLB_ERROR)
	live.Range(func(k, _ any) bool {
		closeSlot(k.(*slot))
		return true
	})
	return output.FLB_OK
}

//export FLBPluginUnregister
func FLBPluginUnregister(def unsafe.Pointer) {
	var rc int
	defer guard("FLBPluginUnregister", &rc, 0)
	n := 0
	live.Range(func(k, _ any) bool {
		closeSlot(k.(*slot))
		n++
		return true
	})
	output.FLBPluginUnregister(def)
	// The Go runtime stays loaded (NODELETE) across a hot reload; this line
	// lets operators and tests see that nothing piles up.
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	pluginLog().Info("unregistered", "closed_at_unregister", n, "goroutines", runtime.NumGoroutine(),
		"heap_inuse_bytes", ms.HeapInuse)
}
