package esbulk

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/nri-audit/nri-audit/audit"
)

// maxDeadLetterDoc bounds the document copy in a dead-letter index
// document: the index is for triage, and a document rejected for its
// size (413) must not be rejected again. The file keeps documents whole.
const maxDeadLetterDoc = 1 << 20

// maxLoggedDoc bounds the document in a dead-letter log line (when no
// dead letter is configured).
const maxLoggedDoc = 16 << 10

// deadLetter is an append-only NDJSON file shared by concurrent Flushes.
type deadLetter struct {
	mu   sync.Mutex
	f    *os.File
	path string
}

func openDeadLetter(path string) (*deadLetter, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("esbulk: dead letter file: %w", err)
	}
	return &deadLetter{f: f, path: path}, nil
}

// write appends whole lines and syncs them: a dead-lettered record counts
// as accounted for, so it must be on disk.
func (d *deadLetter) write(lines []byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.f == nil {
		return fmt.Errorf("esbulk: dead letter file %s is closed", d.path)
	}
	if _, err := d.f.Write(lines); err != nil {
		return fmt.Errorf("esbulk: dead letter file: %w", err)
	}
	if err := d.f.Sync(); err != nil {
		return fmt.Errorf("esbulk: dead letter file: sync: %w", err)
	}
	return nil
}

func (d *deadLetter) close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.f == nil {
		return nil
	}
	err := d.f.Close()
	d.f = nil
	if err != nil {
		return fmt.Errorf("esbulk: dead letter file: %w", err)
	}
	return nil
}

func (c *Client) deadLetterName() string {
	switch {
	case c.cfg.DeadLetterPath != "":
		return "file " + c.cfg.DeadLetterPath
	case c.cfg.DeadLetterIndex != "":
		return "index " + c.cfg.DeadLetterIndex
	}
	return "log"
}

// appendDeadLetterDoc appends one dead-letter document:
//
//	{"@timestamp":…,"index":…,"id":…,"status":400,"error":{…},"document":…}
//
// document is the original JSON object (asString false) or that JSON as a
// string, truncated to maxDoc bytes (asString true).
func appendDeadLetterDoc(dst []byte, now time.Time, index, id string, d deadItem, doc []byte, asString bool, maxDoc int) []byte {
	dst = append(dst, `{"@timestamp":"`...)
	dst = audit.AppendTimestamp(dst, now)
	dst = append(dst, `","index":`...)
	dst = audit.AppendJSONString(dst, index)
	dst = append(dst, `,"id":`...)
	dst = audit.AppendJSONString(dst, id)
	dst = append(dst, `,"status":`...)
	dst = strconv.AppendInt(dst, int64(d.status), 10)
	dst = append(dst, `,"error":`...)
	dst = append(dst, d.err...)
	dst = append(dst, `,"document":`...)
	if !asString {
		dst = append(dst, doc...)
	} else {
		size := len(doc)
		truncated := size > maxDoc
		if truncated {
			doc = doc[:maxDoc]
		}
		dst = audit.AppendJSONString(dst, string(doc))
		if truncated {
			dst = append(dst, `,"document_truncated":true`...)
		}
		dst = append(dst, `,"document_bytes":`...)
		dst = strconv.AppendInt(dst, int64(size), 10)
	}
	return append(dst, '}')
}

// writeDeadLetters stores the queued dead letters; records whose dead
// letter cannot be written become Failed (re-sent later, never lost).
func (f *flush) writeDeadLetters(ctx context.Context) {
	dead := f.st.dead
	if len(dead) == 0 {
		return
	}
	c, b := f.c, f.b
	now := time.Now()
	switch {
	case c.dl != nil:
		buf := f.st.dlBuf[:0]
		for _, d := range dead {
			index, id := b.meta(d.i)
			buf = appendDeadLetterDoc(buf, now, index, id, d, b.Document(d.i), false, 0)
			buf = append(buf, '\n')
		}
		f.st.dlBuf = buf
		if err := c.dl.write(buf); err != nil {
			f.failDead(err.Error())
		}
	case c.cfg.DeadLetterIndex != "":
		f.writeDeadLetterIndex(ctx, now)
	default:
		for _, d := range dead {
			index, id := b.meta(d.i)
			doc := b.Document(d.i)
			truncated := len(doc) > maxLoggedDoc
			if truncated {
				doc = doc[:maxLoggedDoc]
			}
			c.log.Error("esbulk: document rejected (no dead letter configured; this log line is its only copy)",
				"index", index, "id", id, "status", d.status, "error", parseItemError(d.err).String(),
				"document", string(doc), "document_truncated", truncated)
		}
	}
}

func (f *flush) failDead(reason string) {
	if f.firstErr == "" {
		f.firstErr = "dead letter: " + reason
	} else {
		f.firstErr = "dead letter: " + reason + " (first rejection: " + f.firstErr + ")"
	}
	for _, d := range f.st.dead {
		f.b.outcomes[d.i] = Failed
	}
}

// writeDeadLetterIndex creates the dead letters as documents of
// DeadLetterIndex (same _id, so a re-sent record is a 409, not a copy).
func (f *flush) writeDeadLetterIndex(ctx context.Context, now time.Time) {
	c, b := f.c, f.b
	buf := f.st.dlBuf[:0]
	for _, d := range f.st.dead {
		index, id := b.meta(d.i)
		buf = append(buf, `{"create":{"_index":"`...)
		buf = append(buf, c.cfg.DeadLetterIndex...)
		buf = append(buf, `","_id":`...)
		buf = audit.AppendJSONString(buf, id)
		buf = append(buf, "}}\n"...)
		buf = appendDeadLetterDoc(buf, now, index, id, d, b.Document(d.i), true, maxDeadLetterDoc)
		buf = append(buf, '\n')
	}
	f.st.dlBuf = buf
	resp, err := f.post(ctx, buf, false)
	if err != nil {
		f.failDead("index " + c.cfg.DeadLetterIndex + ": " + err.Error())
		return
	}
	if resp.status < 200 || resp.status >= 300 {
		f.failDead(fmt.Sprintf("index %s: HTTP %d %s", c.cfg.DeadLetterIndex, resp.status, esErrorReason(resp.body)))
		return
	}
	br, err := decodeBulk(resp.body, f.st.items, len(f.st.dead))
	f.st.items = br.Items[:0]
	if err != nil {
		f.failDead("index " + c.cfg.DeadLetterIndex + ": " + err.Error())
		return
	}
	for k, d := range f.st.dead {
		it := br.Items[k].result()
		if s := it.Status; (s >= 200 && s < 300) || s == http.StatusConflict || (s == 0 && !br.Errors) {
			continue
		}
		reason := fmt.Sprintf("dead letter index %s: item %d %s", c.cfg.DeadLetterIndex, it.Status, parseItemError(it.Error))
		f.note(func() string { return reason })
		b.outcomes[d.i] = Failed
	}
}
