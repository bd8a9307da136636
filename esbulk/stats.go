package esbulk

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Stats are the client's counters since New.
type Stats struct {
	Delivered    uint64 // records indexed (2xx)
	Duplicates   uint64 // records already indexed (409)
	Retried      uint64 // record re-sends after a retryable failure
	DeadLettered uint64 // records written to the dead letter
	Failed       uint64 // records a Flush left Failed (the caller re-sends them)
	Flushes      uint64 // Flush calls with at least one record
	Requests     uint64 // bulk HTTP requests (dead-letter index requests included)
	RequestErrs  uint64 // requests that failed below HTTP (connect, reset, timeout)
	Bytes        uint64 // uncompressed bulk bytes sent
	WireBytes    uint64 // bulk bytes on the wire (after gzip)
	// Latency is the total time spent in bulk requests, MaxLatency the
	// longest one.
	Latency, MaxLatency time.Duration
}

// MeanLatency is the average bulk request time.
func (s Stats) MeanLatency() time.Duration {
	if s.Requests == 0 {
		return 0
	}
	return s.Latency / time.Duration(s.Requests)
}

type counters struct {
	delivered, duplicates, retried, deadLettered, failed atomic.Uint64
	flushes, requests, requestErrs, bytes, wireBytes     atomic.Uint64
	latency, maxLatency                                  atomic.Int64

	mu       sync.Mutex
	firstErr string // first error since the last summary
}

func (k *counters) request(d time.Duration, raw, wire int, failed bool) {
	k.requests.Add(1)
	if failed {
		k.requestErrs.Add(1)
	}
	k.bytes.Add(uint64(raw))
	k.wireBytes.Add(uint64(wire))
	k.latency.Add(int64(d))
	for {
		m := k.maxLatency.Load()
		if int64(d) <= m || k.maxLatency.CompareAndSwap(m, int64(d)) {
			return
		}
	}
}

func (k *counters) noteError(reason string) {
	k.mu.Lock()
	if k.firstErr == "" {
		k.firstErr = reason
	}
	k.mu.Unlock()
}

func (k *counters) takeError() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	s := k.firstErr
	k.firstErr = ""
	return s
}

// Stats returns a snapshot of the counters.
func (c *Client) Stats() Stats {
	k := &c.counters
	return Stats{
		Delivered:    k.delivered.Load(),
		Duplicates:   k.duplicates.Load(),
		Retried:      k.retried.Load(),
		DeadLettered: k.deadLettered.Load(),
		Failed:       k.failed.Load(),
		Flushes:      k.flushes.Load(),
		Requests:     k.requests.Load(),
		RequestErrs:  k.requestErrs.Load(),
		Bytes:        k.bytes.Load(),
		WireBytes:    k.wireBytes.Load(),
		Latency:      time.Duration(k.latency.Load()),
		MaxLatency:   time.Duration(k.maxLatency.Load()),
	}
}

// summaryLoop logs one line per interval with the counters of the
// interval, and a last one on Close; quiet intervals log nothing.
func (c *Client) summaryLoop(every time.Duration) {
	defer close(c.stopped)
	t := time.NewTicker(every)
	defer t.Stop()
	last := Stats{}
	for {
		select {
		case <-t.C:
		case <-c.stop:
			c.logSummary(&last, every)
			return
		}
		c.logSummary(&last, every)
	}
}

func (c *Client) logSummary(last *Stats, every time.Duration) {
	now := c.Stats()
	d := Stats{
		Delivered:    now.Delivered - last.Delivered,
		Duplicates:   now.Duplicates - last.Duplicates,
		Retried:      now.Retried - last.Retried,
		DeadLettered: now.DeadLettered - last.DeadLettered,
		Failed:       now.Failed - last.Failed,
		Requests:     now.Requests - last.Requests,
		RequestErrs:  now.RequestErrs - last.RequestErrs,
		Bytes:        now.Bytes - last.Bytes,
		WireBytes:    now.WireBytes - last.WireBytes,
		Latency:      now.Latency - last.Latency,
	}
	*last = now
	firstErr := c.counters.takeError()
	if d.Requests == 0 && d.Failed == 0 && firstErr == "" {
		return
	}
	level := slog.LevelInfo
	if d.Failed > 0 || d.DeadLettered > 0 || firstErr != "" {
		level = slog.LevelWarn
	}
	attrs := []slog.Attr{
		slog.Duration("interval", every),
		slog.Uint64("delivered", d.Delivered),
		slog.Uint64("duplicates", d.Duplicates),
		slog.Uint64("retried", d.Retried),
		slog.Uint64("dead_lettered", d.DeadLettered),
		slog.Uint64("failed", d.Failed),
		slog.Uint64("requests", d.Requests),
		slog.Uint64("request_errors", d.RequestErrs),
		slog.Uint64("bytes", d.Bytes),
		slog.Uint64("wire_bytes", d.WireBytes),
		slog.Duration("mean_latency", d.MeanLatency()),
	}
	if firstErr != "" {
		attrs = append(attrs, slog.String("first_error", firstErr))
	}
	c.log.LogAttrs(context.Background(), level, "esbulk: summary", attrs...)
}
