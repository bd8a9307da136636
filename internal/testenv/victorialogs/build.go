package victorialogs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

const (
	// Module is the Go module VictoriaLogs is built from.
	Module = "github.com/VictoriaMetrics/VictoriaMetrics"
	// Version is the pinned release of Module.
	Version = "v1.121.0"
	// mainPackage is the VictoriaLogs command inside Module.
	mainPackage = "./app/victoria-logs"
	// BinaryName is the file name of the cached binary.
	BinaryName = "victoria-logs-" + Version

	// EnvBinary names a prebuilt VictoriaLogs binary to use instead of building one.
	EnvBinary = "NRI_AUDIT_VICTORIALOGS_BIN"
)

// BuildBinary returns the path of a VictoriaLogs binary in cacheDir, building
// it first if it is not there. It downloads Module@Version with the go
// command, copies the (read-only) module cache tree to a temporary directory
// and runs `go build` there. Concurrent callers, in this process or in other
// processes, build at most once: the build holds an flock on a lock file in
// cacheDir and the binary appears by an atomic rename, so a half-written file
// is never seen.
//
// The go command comes from PATH (`go test` puts its own GOROOT/bin first).
// GOTOOLCHAIN is taken from the environment; the module asks for go 1.24.4,
// so GOTOOLCHAIN=local works with any newer local Go.
func BuildBinary(ctx context.Context, cacheDir string) (string, error) {
	return buildBinary(ctx, cacheDir, nil)
}

// buildBinary is BuildBinary with a hook called when a build really starts;
// tests use it to count builds.
func buildBinary(ctx context.Context, cacheDir string, onBuild func()) (string, error) {
	if cacheDir == "" {
		return "", errors.New("victorialogs: build: empty cache directory")
	}
	cacheDir, err := filepath.Abs(cacheDir)
	if err != nil {
		return "", fmt.Errorf("victorialogs: build: %w", err)
	}
	target := filepath.Join(cacheDir, BinaryName)
	if isExecutable(target) {
		return target, nil
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return "", fmt.Errorf("victorialogs: build: %w", err)
	}
	unlock, err := lockFile(ctx, target+".lock")
	if err != nil {
		return "", fmt.Errorf("victorialogs: build: %w", err)
	}
	defer unlock()
	// Another process may have built it while we waited for the lock.
	if isExecutable(target) {
		return target, nil
	}
	if onBuild != nil {
		onBuild()
	}

	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("victorialogs: build: go command not found: %w", err)
	}
	start := time.Now()
	modDir, err := downloadModule(ctx, goBin)
	if err != nil {
		return "", err
	}
	downloaded := time.Since(start)

	src, err := os.MkdirTemp(cacheDir, ".victoria-logs-src-")
	if err != nil {
		return "", fmt.Errorf("victorialogs: build: %w", err)
	}
	defer os.RemoveAll(src)
	// os.CopyFS creates files writable (0666 before umask) whatever the
	// module cache's read-only modes are, so go may update go.mod/go.sum.
	if err := os.CopyFS(src, os.DirFS(modDir)); err != nil {
		return "", fmt.Errorf("victorialogs: build: copy module source: %w", err)
	}

	tmp := filepath.Join(cacheDir, fmt.Sprintf(".%s.tmp-%d", BinaryName, os.Getpid()))
	defer os.Remove(tmp) // no-op after the rename
	cmd := exec.CommandContext(ctx, goBin, "build", "-trimpath",
		"-ldflags", "-X "+Module+"/lib/buildinfo.Version=victoria-logs-"+Version,
		"-o", tmp, mainPackage)
	cmd.Dir = src
	cmd.Env = buildEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("victorialogs: build: go build %s@%s: %w\n%s", Module, Version, err, tail(out, 4096))
	}
	if err := os.Rename(tmp, target); err != nil {
		return "", fmt.Errorf("victorialogs: build: %w", err)
	}
	slog.Info("victorialogs: built binary", "path", target,
		"download", downloaded.Round(time.Millisecond), "total", time.Since(start).Round(time.Millisecond))
	return target, nil
}

// downloadModule runs `go mod download -json` outside any module, so the
// caller's go.mod and go.sum are never touched, and returns the module's
// directory in the module cache.
func downloadModule(ctx context.Context, goBin string) (string, error) {
	cmd := exec.CommandContext(ctx, goBin, "mod", "download", "-json", Module+"@"+Version)
	cmd.Dir = os.TempDir()
	cmd.Env = buildEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	// On failure -json still prints an object with an Error field.
	var info struct {
		Dir   string
		Error string
	}
	if jerr := json.Unmarshal(out, &info); jerr == nil && info.Error != "" {
		return "", fmt.Errorf("victorialogs: download %s@%s: %s", Module, Version, info.Error)
	}
	if err != nil {
		return "", fmt.Errorf("victorialogs: download %s@%s: %w: %s", Module, Version, err, tail(stderr.Bytes(), 2048))
	}
	if info.Dir == "" {
		return "", fmt.Errorf("victorialogs: download %s@%s: no Dir in go mod download output %q", Module, Version, tail(out, 512))
	}
	return info.Dir, nil
}

// buildEnv is the caller's environment with the settings the build needs:
//   - GOFLAGS=-mod=mod: the module zip has no vendor/ directory, and a
//     caller's GOFLAGS (e.g. -mod=vendor) must not leak in;
//   - GOWORK=off: no go.work of the caller applies;
//   - CGO_ENABLED=0: VictoriaLogs is pure Go and is released static; the
//     project's Makefile exports CGO_ENABLED=1 for its own cgo packages.
func buildEnv() []string {
	env := make([]string, 0, len(os.Environ())+3)
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "GOFLAGS", "GOWORK", "CGO_ENABLED":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "GOFLAGS=-mod=mod -buildvcs=false", "GOWORK=off", "CGO_ENABLED=0")
}

// lockFile takes an exclusive flock on path, polling so that ctx can end the
// wait. The returned func releases it.
func lockFile(ctx context.Context, path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				_ = f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("lock %s: waiting for another build: %w", path, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 && fi.Size() > 0
}

// RepoCacheDir returns <repo>/build/cache, the repo being the nearest
// directory at or above the working directory that holds a go.mod.
func RepoCacheDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("victorialogs: cache dir: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "build", "cache"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("victorialogs: cache dir: no go.mod at or above the working directory")
		}
		dir = parent
	}
}

// tail returns the last max bytes of b as a string.
func tail(b []byte, max int) string {
	b = bytes.TrimSpace(b)
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return string(b)
}
