package esbulk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// Result accounts for every record of a flushed batch.
type Result struct {
	Delivered    int // indexed now (2xx)
	Duplicates   int // already indexed (409 on create): delivered before
	DeadLettered int // permanently rejected and written to the dead letter
	Failed       int // not accounted for: re-send them (FLB_RETRY, no cursor commit)
	Retried      int // item re-sends this Flush made (a record may count more than once)
	// FirstError is the first failure reason met, retried or not
	// ("item 429 es_rejected_execution_exception: ...", "HTTP 503 ...",
	// "transport: ...").
	FirstError string
}

// Complete reports whether every record is delivered, duplicate or
// dead-lettered.
func (r Result) Complete() bool { return r.Failed == 0 }

// Errors wrapped by Flush when records are left Failed for a reason that
// retrying within the budget cannot fix.
var (
	// ErrAuth: Elasticsearch answered 401 or 403 to the request.
	ErrAuth = errors.New("esbulk: authentication or authorization failed")
	// ErrBudget: the retry budget ran out with records still retryable.
	ErrBudget = errors.New("esbulk: retry budget exhausted")
)

// flushState is per-Flush scratch memory, pooled by the client.
type flushState struct {
	a, b  []int
	body  []byte
	gz    bytes.Buffer
	resp  []byte
	items []bulkItem
	dead  []deadItem
	dlBuf []byte
}

type deadItem struct {
	i      int
	status int
	err    json.RawMessage
}

func (c *Client) getState() *flushState {
	if st, ok := c.flushPool.Get().(*flushState); ok {
		return st
	}
	return &flushState{}
}

// flush is one Flush call in progress.
type flush struct {
	c         *Client
	b         *Batch
	st        *flushState
	retry     []int
	firstErr  string
	firstDead string // first dead letter reason, for the warning
	stopErr   error  // stops the flush: auth, unexpected status, context
	retried   int
	// abandoned buffers: the transport may still read them
	batchBufAbandoned, stateAbandoned bool
}

// Flush sends the batch and returns what happened to each record (see
// Result and Batch.Outcome). It returns a non-nil error exactly when
// Result.Complete is false; the error wraps ErrAuth, ErrBudget or the
// context's error when one of them is the cause. Flush does not Reset the
// batch. Several Flushes may run at once on different batches.
func (c *Client) Flush(ctx context.Context, b *Batch) (Result, error) {
	n := len(b.items)
	if n == 0 {
		return Result{}, nil
	}
	start := time.Now()
	c.counters.flushes.Add(1)
	st := c.getState()
	f := &flush{c: c, b: b, st: st}
	for i := range b.outcomes {
		b.outcomes[i] = Pending
	}
	st.dead = st.dead[:0]
	pending := st.a[:0]
	for i := 0; i < n; i++ {
		pending = append(pending, i)
	}
	retry := st.b[:0]
	deadline := start.Add(c.cfg.RetryBudget)
	for attempt := 0; ; attempt++ {
		f.retry = retry[:0]
		f.sendAll(ctx, pending)
		retry = f.retry
		if len(retry) == 0 {
			break
		}
		if f.stopErr != nil {
			f.fail(retry, "")
			break
		}
		wait := c.backoff(attempt)
		remaining := time.Until(deadline)
		if remaining <= 0 {
			f.stopErr = ErrBudget
			f.fail(retry, "")
			break
		}
		if wait > remaining {
			wait = remaining
		}
		if err := sleep(ctx, wait); err != nil {
			f.stopErr = err
			f.fail(retry, "")
			break
		}
		f.retried += len(retry)
		c.counters.retried.Add(uint64(len(retry)))
		pending, retry = retry, pending
	}
	st.a, st.b = pending[:0], retry[:0]
	f.writeDeadLetters(ctx)

	res := Result{Retried: f.retried, FirstError: f.firstErr}
	for i, o := range b.outcomes {
		switch o {
		case Delivered:
			res.Delivered++
		case Duplicate:
			res.Duplicates++
		case DeadLettered:
			res.DeadLettered++
		default:
			b.outcomes[i] = Failed
			res.Failed++
		}
	}
	c.counters.delivered.Add(uint64(res.Delivered))
	c.counters.duplicates.Add(uint64(res.Duplicates))
	c.counters.deadLettered.Add(uint64(res.DeadLettered))
	c.counters.failed.Add(uint64(res.Failed))
	if f.batchBufAbandoned {
		// The transport still holds the old array; keep the batch's
		// contents readable without sharing it.
		b.buf = append(make([]byte, 0, cap(b.buf)), b.buf...)
	}
	if !f.stateAbandoned {
		c.flushPool.Put(st)
	}

	if res.DeadLettered > 0 || res.Failed > 0 || res.Retried > 0 {
		c.counters.noteError(res.FirstError)
	}
	if res.DeadLettered > 0 {
		c.log.Warn("esbulk: documents dead-lettered", "count", res.DeadLettered,
			"to", c.deadLetterName(), "first_reason", f.firstDead)
	}
	if res.Failed == 0 {
		return res, nil
	}
	c.log.Warn("esbulk: flush incomplete", "failed", res.Failed, "of", n,
		"delivered", res.Delivered, "duplicates", res.Duplicates,
		"dead_lettered", res.DeadLettered, "retried", res.Retried,
		"elapsed", time.Since(start).Round(time.Millisecond), "first_error", res.FirstError)
	err := fmt.Errorf("esbulk: flush: %d of %d records not delivered: %s", res.Failed, n, res.FirstError)
	if f.stopErr != nil {
		err = fmt.Errorf("%w (%w)", err, f.stopErr)
	}
	return res, err
}

// backoff is base·2^attempt capped at max, the upper half random.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.cfg.BackoffMax
	if attempt < 30 {
		if e := c.cfg.BackoffBase << attempt; e < d && e > 0 {
			d = e
		}
	}
	half := d / 2
	return half + time.Duration(rand.Int64N(int64(half)+1))
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// note keeps the first failure reason of the flush.
func (f *flush) note(reason func() string) {
	if f.firstErr == "" {
		f.firstErr = reason()
	}
}

// fail marks records Failed (not retried in this Flush).
func (f *flush) fail(set []int, reason string) {
	if reason != "" {
		f.note(func() string { return reason })
	}
	for _, i := range set {
		f.b.outcomes[i] = Failed
	}
}

// sendAll sends a set of records in requests of at most MaxBatchBytes.
func (f *flush) sendAll(ctx context.Context, set []int) {
	max := f.c.cfg.MaxBatchBytes
	for len(set) > 0 {
		if f.stopErr != nil {
			f.fail(set, "")
			return
		}
		size, k := 0, 0
		for k < len(set) {
			s := f.b.items[set[k]]
			if k > 0 && size+s.end-s.start > max {
				break
			}
			size += s.end - s.start
			k++
		}
		f.send(ctx, set[:k])
		set = set[k:]
	}
}

// body returns the NDJSON body of a set of records: a slice of the batch
// buffer when they are contiguous, else a copy into scratch memory.
func (f *flush) body(set []int) (body []byte, fromBatch bool) {
	items := f.b.items
	contiguous := true
	for k := 1; k < len(set); k++ {
		if set[k] != set[k-1]+1 {
			contiguous = false
			break
		}
	}
	if contiguous {
		return f.b.buf[items[set[0]].start:items[set[len(set)-1]].end], true
	}
	buf := f.st.body[:0]
	for _, i := range set {
		buf = append(buf, f.b.buf[items[i].start:items[i].end]...)
	}
	f.st.body = buf
	return buf, false
}

// send makes one bulk request for a set of records and classifies the
// outcome of each: delivered, duplicate, dead letter, retry or failed.
func (f *flush) send(ctx context.Context, set []int) {
	if err := ctx.Err(); err != nil {
		f.stopErr = err
		f.fail(set, "context: "+err.Error())
		return
	}
	body, fromBatch := f.body(set)
	resp, err := f.post(ctx, body, fromBatch)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			f.stopErr = ctxErr
			f.fail(set, "context: "+ctxErr.Error())
			return
		}
		f.note(func() string { return "transport: " + err.Error() })
		f.retry = append(f.retry, set...)
		return
	}
	switch s := resp.status; {
	case s >= 200 && s < 300:
		f.classify(set, resp.body)
	case s == http.StatusRequestEntityTooLarge:
		if len(set) == 1 {
			f.dead(set[0], s, syntheticError("request_entity_too_large",
				fmt.Sprintf("HTTP 413: the document alone (%d bytes) exceeds the server's request size limit (http.max_content_length or a proxy's)", len(body))))
			return
		}
		f.note(func() string { return fmt.Sprintf("HTTP 413 for %d bytes: splitting the request", len(body)) })
		half := len(set) / 2
		f.send(ctx, set[:half])
		f.send(ctx, set[half:])
	case s == http.StatusRequestTimeout || s == http.StatusTooManyRequests || s >= 500:
		f.note(func() string { return "HTTP " + strconv.Itoa(s) + " " + esErrorReason(resp.body) })
		f.retry = append(f.retry, set...)
	case s == http.StatusBadRequest:
		// The request as a whole was refused: resending it cannot help.
		e := requestError(s, resp.body)
		f.note(func() string { return "HTTP 400 " + parseItemError(e).String() })
		for _, i := range set {
			f.dead(i, s, e)
		}
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		reason := "HTTP " + strconv.Itoa(s) + " " + esErrorReason(resp.body)
		f.stopErr = fmt.Errorf("%w: %s", ErrAuth, reason)
		f.fail(set, reason)
	default:
		reason := "HTTP " + strconv.Itoa(s) + " " + esErrorReason(resp.body)
		f.stopErr = fmt.Errorf("esbulk: unexpected response to _bulk (check the URL): %s", reason)
		f.fail(set, reason)
	}
}

// post sends a body to the next endpoint, failing over to the others on
// transport errors. The response body lives in the flush state.
func (f *flush) post(ctx context.Context, body []byte, fromBatch bool) (response, error) {
	c := f.c
	wire, gz := body, false
	if c.cfg.Compress {
		if err := c.gzipInto(&f.st.gz, body); err != nil {
			return response{}, err
		}
		wire, gz = f.st.gz.Bytes(), true
	}
	var lastErr error
	for try := 0; try < len(c.endpoints); try++ {
		ep := &c.endpoints[c.pick()]
		start := time.Now()
		resp, reusable, err := c.do(ctx, ep, http.MethodPost, ep.bulk, wire, gz, "application/x-ndjson", f.st.resp)
		c.counters.request(time.Since(start), len(body), len(wire), err != nil)
		if !reusable {
			if fromBatch && !gz {
				f.batchBufAbandoned = true
			} else {
				f.stateAbandoned = true
			}
		}
		if resp.body != nil {
			f.st.resp = resp.body[:0]
		}
		if err == nil {
			return resp, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
		if len(c.endpoints) > 1 {
			c.log.Debug("esbulk: endpoint failed, trying the next", "url", ep.base, "error", err)
		}
	}
	return response{}, lastErr
}

// classify applies a 2xx bulk response item by item.
func (f *flush) classify(set []int, body []byte) {
	resp, err := decodeBulk(body, f.st.items, len(set))
	f.st.items = resp.Items[:0]
	if err != nil {
		// Nothing tells which documents were indexed; resending all is
		// safe with create + _id.
		f.note(func() string { return "bulk response: " + err.Error() })
		f.retry = append(f.retry, set...)
		return
	}
	for k, i := range set {
		it := resp.Items[k].result()
		s := it.Status
		switch {
		case s >= 200 && s < 300:
			f.b.outcomes[i] = Delivered
		case s == http.StatusConflict:
			f.b.outcomes[i] = Duplicate
		case s == 0 && !resp.Errors:
			f.b.outcomes[i] = Delivered
		case s == 0:
			f.note(func() string { return "bulk response: item without status" })
			f.retry = append(f.retry, i)
		case s == http.StatusTooManyRequests || s >= 500 || (s == http.StatusForbidden && isClusterBlock(it.Error)):
			// Back-pressure, shard trouble, or a disk-watermark block
			// (403 before Elasticsearch 7.x answered it with 429).
			f.note(func() string { return "item " + strconv.Itoa(s) + " " + parseItemError(it.Error).String() })
			f.retry = append(f.retry, i)
		default:
			f.note(func() string { return "item " + strconv.Itoa(s) + " " + parseItemError(it.Error).String() })
			f.dead(i, s, it.Error)
		}
	}
}

func isClusterBlock(raw json.RawMessage) bool {
	return parseItemError(raw).Type == "cluster_block_exception"
}

// dead queues a record for the dead letter; writeDeadLetters decides
// whether it ends DeadLettered or Failed.
func (f *flush) dead(i, status int, errObj json.RawMessage) {
	switch {
	case len(errObj) == 0:
		errObj = syntheticError("http_"+strconv.Itoa(status), "no error object in the response")
	case errObj[0] != '{':
		// Keep the dead letter's error an object, whatever the server sent.
		errObj = syntheticError("http_"+strconv.Itoa(status), parseItemError(errObj).String())
	}
	if f.firstDead == "" {
		f.firstDead = "status " + strconv.Itoa(status) + " " + parseItemError(errObj).String()
	}
	f.b.outcomes[i] = DeadLettered
	f.st.dead = append(f.st.dead, deadItem{i: i, status: status, err: errObj})
}
