package victorialogs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	buildTimeout = 15 * time.Minute // a cold module cache and build cache on 2 shared cores
	readyTimeout = 30 * time.Second
	stopTimeout  = 10 * time.Second
	stderrKeep   = 16 << 10

	// MaxLineSize is the longest NDJSON line (one document) the server
	// accepts: -insert.maxLineSizeBytes, raised from VictoriaLogs' 256 KiB.
	MaxLineSize = 16 << 20
)

// Server is one running VictoriaLogs process with its own data directory.
type Server struct {
	tb     testing.TB
	bin    string
	url    string
	client *http.Client
	cmd    *exec.Cmd
	out    *tailBuffer
	done   chan struct{} // closed when the process has exited
	err    error         // cmd.Wait's result, valid after done
	stop   sync.Once
}

// Start returns a running VictoriaLogs on a free 127.0.0.1 port, stopped in
// tb.Cleanup. The binary comes from EnvBinary when set, else from
// BuildBinary(ctx, RepoCacheDir()). When the binary cannot be had the test is
// skipped, except under CI=true, where it fails: a broken harness must never
// look green. Call it from the test goroutine.
func Start(tb testing.TB) *Server {
	tb.Helper()
	bin, err := binary(tb)
	if err != nil {
		if inCI() {
			tb.Fatalf("victorialogs: %v", err)
		}
		tb.Skipf("victorialogs: cannot get a VictoriaLogs binary (set CI=true to make this fatal): %v", err)
	}
	dataDir := tb.TempDir()
	var lastErr error
	// A free port found by listen-and-close can be taken by someone else
	// before the server binds it; try a few.
	for attempt := 0; attempt < 3; attempt++ {
		s, err := start(tb, bin, dataDir)
		if err == nil {
			tb.Cleanup(s.Stop)
			return s
		}
		lastErr = err
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	tb.Fatalf("victorialogs: %v", lastErr)
	return nil
}

func binary(tb testing.TB) (string, error) {
	if p := os.Getenv(EnvBinary); p != "" {
		if !isExecutable(p) {
			return "", fmt.Errorf("%s=%q is not an executable file", EnvBinary, p)
		}
		return p, nil
	}
	cacheDir, err := RepoCacheDir()
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	if d, ok := tb.(interface{ Deadline() (time.Time, bool) }); ok {
		if deadline, ok := d.Deadline(); ok {
			ctx, cancel = context.WithDeadline(ctx, deadline.Add(-10*time.Second))
			defer cancel()
		}
	}
	start := time.Now()
	bin, err := BuildBinary(ctx, cacheDir)
	if err != nil {
		return "", err
	}
	if took := time.Since(start); took > time.Second {
		tb.Logf("victorialogs: built %s in %s", bin, took.Round(time.Millisecond))
	}
	return bin, nil
}

func start(tb testing.TB, bin, dataDir string) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	s := &Server{
		tb:     tb,
		bin:    bin,
		url:    "http://" + addr,
		client: &http.Client{Timeout: 30 * time.Second},
		out:    &tailBuffer{max: stderrKeep},
		done:   make(chan struct{}),
	}
	s.cmd = exec.Command(bin,
		"-storageDataPath="+dataDir,
		"-httpListenAddr="+addr,
		"-loggerLevel=WARN",
		// Test fixtures carry fixed dates; the default 7d retention (and
		// 2d future retention) silently drops such rows at ingestion.
		"-retentionPeriod=100y",
		"-futureRetention=100y",
		// Elasticsearch takes documents far over the 256 KiB default; a
		// longer line makes VictoriaLogs abort the whole bulk request.
		"-insert.maxLineSizeBytes="+fmt.Sprint(MaxLineSize),
	)
	s.cmd.Stdout = s.out
	s.cmd.Stderr = s.out
	s.cmd.SysProcAttr = sysProcAttr()

	started := make(chan error, 1)
	go func() {
		// Pdeathsig fires when the thread that forked the child exits, so
		// the forking goroutine keeps its thread locked until the child is
		// gone (other packages here lock and drop threads for sdjournal).
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := s.cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		s.err = s.cmd.Wait()
		close(s.done)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	if err := s.waitReady(); err != nil {
		s.stop.Do(s.terminate)
		return nil, err
	}
	return s, nil
}

func (s *Server) waitReady() error {
	deadline := time.Now().Add(readyTimeout)
	client := &http.Client{Timeout: time.Second}
	for {
		select {
		case <-s.done:
			return fmt.Errorf("server exited before it was ready (%v); output:\n%s", s.err, s.out.String())
		default:
		}
		resp, err := client.Get(s.url + "/health")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && strings.TrimSpace(string(body)) == "OK" {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("server at %s not ready after %s (last: %v); output:\n%s", s.url, readyTimeout, err, s.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop ends the server: SIGTERM, then SIGKILL after 10 s. Start registers it
// with tb.Cleanup; calling it again is a no-op. A server that died by itself
// before Stop is reported as a test error with its output.
func (s *Server) Stop() {
	s.stop.Do(func() {
		select {
		case <-s.done:
			s.tb.Errorf("victorialogs: server exited unexpectedly (%v); output:\n%s", s.err, s.out.String())
			return
		default:
		}
		s.terminate()
	})
}

// terminate sends SIGTERM, then SIGKILL after stopTimeout, and waits for the
// process to be gone.
func (s *Server) terminate() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(stopTimeout):
		_ = s.cmd.Process.Kill()
		<-s.done
		s.tb.Logf("victorialogs: server ignored SIGTERM for %s and was killed; output:\n%s", stopTimeout, s.out.String())
	}
}

// URL is the server's base URL, e.g. http://127.0.0.1:PORT.
func (s *Server) URL() string { return s.url }

// ESURL is the Elasticsearch-compatible base URL; append /_bulk for the bulk API.
func (s *Server) ESURL() string { return s.url + "/insert/elasticsearch" }

// Binary is the path of the VictoriaLogs binary the server runs.
func (s *Server) Binary() string { return s.bin }

// Output returns the tail of the server's stdout and stderr; ingestion
// errors (a bad bulk line, a skipped too-long line) are only visible there.
func (s *Server) Output() string { return s.out.String() }

// Query runs a LogsQL query over all stored data (no time range) and returns
// one map per row. VictoriaLogs stores every value as a string, so every map
// value is a string; empty values are absent.
func (s *Server) Query(ctx context.Context, logsql string) ([]map[string]any, error) {
	form := url.Values{"query": {logsql}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url+"/select/logsql/query", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("victorialogs: query: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("victorialogs: query %q: %w", logsql, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return nil, fmt.Errorf("victorialogs: query %q: HTTP %d: %s", logsql, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	rows := []map[string]any{}
	dec := json.NewDecoder(resp.Body)
	for {
		var row map[string]any
		if err := dec.Decode(&row); err != nil {
			if errors.Is(err, io.EOF) {
				return rows, nil
			}
			return rows, fmt.Errorf("victorialogs: query %q: row %d: %w", logsql, len(rows)+1, err)
		}
		rows = append(rows, row)
	}
}

// Flush makes everything ingested so far visible to Query
// (/internal/force_flush). A failure fails the test, so call it from the test
// goroutine.
func (s *Server) Flush() {
	s.tb.Helper()
	resp, err := s.client.Get(s.url + "/internal/force_flush")
	if err != nil {
		s.tb.Fatalf("victorialogs: flush: %v", err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		s.tb.Fatalf("victorialogs: flush: HTTP %d: %s", resp.StatusCode, body)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func inCI() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v == "true" || v == "1"
}

// tailBuffer keeps the last max bytes written to it; safe for concurrent use
// (exec copies stdout and stderr from separate goroutines).
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
