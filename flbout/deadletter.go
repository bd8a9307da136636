package flbout

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/nri-audit/nri-audit/audit"
	"github.com/nri-audit/nri-audit/esbulk"
	"github.com/nri-audit/nri-audit/flbchunk"
)

const (
	// maxLoggedRaw bounds the bytes of undecodable data put into a log
	// line when no dead letter is configured.
	maxLoggedRaw = 64 << 10
	// maxIndexedRaw bounds the document copy in a dead-letter index
	// document, as esbulk does for rejected documents.
	maxIndexedRaw = 1 << 20
	// rawErrorType is error.type of these dead letters.
	rawErrorType = "undecodable_chunk"
)

// rawDeadLetter receives the undecodable tail of a malformed chunk, in the
// shape esbulk uses for rejected documents,
//
//	{"@timestamp":…,"index":"","id":…,"status":0,
//	 "error":{"type":"undecodable_chunk","reason":…},"document":{…}}
//
// where document holds the bytes (base64) and where they were: a line in
// dead_letter_path, a document in dead_letter_index, or, with neither, an
// error log line carrying the bytes. Never silent.
type rawDeadLetter struct {
	log    *slog.Logger
	prefix string

	mu   sync.Mutex
	path string
	f    *os.File

	index  string
	client *esbulk.Client // targets index; nil without dead_letter_index
}

func newRawDeadLetter(cfg Config, log *slog.Logger) (*rawDeadLetter, error) {
	d := &rawDeadLetter{log: log, prefix: cfg.Parser.Prefix, path: cfg.ES.DeadLetterPath, index: cfg.ES.DeadLetterIndex}
	if d.path != "" {
		f, err := os.OpenFile(d.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("flbout: key dead_letter_path=%q: %w", d.path, err)
		}
		d.f = f
	}
	if d.index != "" {
		es := cfg.ES
		es.Index, es.DataStream, es.Pipeline, es.DeadLetterIndex, es.DeadLetterPath = d.index, "", "", "", ""
		es.StatsInterval = -1
		es.Logger = log
		c, err := esbulk.New(es)
		if err != nil {
			d.close()
			return nil, fmt.Errorf("flbout: key dead_letter_index=%q: %w", d.index, err)
		}
		d.client = c
	}
	return d, nil
}

func (d *rawDeadLetter) where() string {
	switch {
	case d.f != nil:
		return "file " + d.path
	case d.client != nil:
		return "index " + d.index
	}
	return "log"
}

// rawDocument is the JSON object describing the bad bytes, and its id
// (derived from them, so a retried flush does not store them twice).
func (d *rawDeadLetter) rawDocument(now time.Time, cerr *flbchunk.Error, at int, data []byte) (doc []byte, id string) {
	var r audit.Record
	r.Timestamp = now
	r.AddString(d.prefix+audit.KeyParseError, "undecodable Fluent Bit chunk data: "+cerr.Reason)
	r.AddString(d.prefix+"chunk_offset", strconv.Itoa(at))
	r.AddString(d.prefix+"chunk_error_offset", strconv.Itoa(cerr.Offset))
	r.AddString(d.prefix+"chunk_events_before", strconv.Itoa(cerr.Events))
	r.AddString(d.prefix+"chunk_bytes", strconv.Itoa(len(data)))
	r.AddString(d.prefix+"chunk_data_base64", base64.StdEncoding.EncodeToString(data))
	sum := sha256.Sum256(append([]byte("nri-audit/raw\x00"+strconv.Itoa(at)+"\x00"), data...))
	copy(r.ID[:], sum[:])
	return r.AppendJSON(make([]byte, 0, len(data)*4/3+512)), string(r.AppendID(nil))
}

func (d *rawDeadLetter) write(ctx context.Context, cerr *flbchunk.Error, at int, data []byte) error {
	now := time.Now().UTC()
	doc, id := d.rawDocument(now, cerr, at, data)
	switch {
	case d.f != nil:
		line := make([]byte, 0, len(doc)+512)
		line = append(line, `{"@timestamp":"`...)
		line = audit.AppendTimestamp(line, now)
		line = append(line, `","index":"","id":`...)
		line = audit.AppendJSONString(line, id)
		line = append(line, `,"status":0,"error":{"type":"`+rawErrorType+`","reason":`...)
		line = audit.AppendJSONString(line, cerr.Reason)
		line = append(line, `},"document":`...)
		line = append(line, doc...)
		line = append(line, "}\n"...)
		d.mu.Lock()
		defer d.mu.Unlock()
		// One write per line: O_APPEND keeps lines whole next to esbulk's
		// own appends to the same file. Synced: it counts as accounted for.
		if _, err := d.f.Write(line); err != nil {
			return fmt.Errorf("flbout: dead letter file %s: %w", d.path, err)
		}
		if err := d.f.Sync(); err != nil {
			return fmt.Errorf("flbout: dead letter file %s: sync: %w", d.path, err)
		}
		return nil
	case d.client != nil:
		// Same fields as esbulk's dead-letter documents; "error.type" is
		// the object path error.type to Elasticsearch.
		var r audit.Record
		r.Timestamp = now
		r.AddString("index", "")
		r.AddString("id", id)
		r.AddString("error.type", rawErrorType)
		r.AddString("error.reason", cerr.Reason)
		size := len(doc)
		if size > maxIndexedRaw {
			doc = doc[:maxIndexedRaw]
			r.AddBool("document_truncated", true)
		}
		r.AddString("document", string(doc))
		r.AddString("document_bytes", strconv.Itoa(size))
		sum := sha256.Sum256([]byte(id))
		copy(r.ID[:], sum[:])
		b := d.client.NewBatch()
		if err := b.Add(&r); err != nil {
			return fmt.Errorf("flbout: dead letter index %s: %w", d.index, err)
		}
		res, err := d.client.Flush(ctx, b)
		if err != nil {
			return fmt.Errorf("flbout: dead letter index %s: %w", d.index, err)
		}
		if !res.Complete() {
			return fmt.Errorf("flbout: dead letter index %s: %s", d.index, res.FirstError)
		}
		return nil
	}
	shown, truncated := data, false
	if len(shown) > maxLoggedRaw {
		shown, truncated = shown[:maxLoggedRaw], true
	}
	d.log.Error("undecodable chunk data (no dead_letter_path or dead_letter_index set; this log line is its only copy)",
		"reason", cerr.Reason, "offset", at, "error_offset", cerr.Offset, "events_before", cerr.Events, "bytes", len(data),
		"truncated", truncated, "data_base64", base64.StdEncoding.EncodeToString(shown))
	return nil
}

func (d *rawDeadLetter) close() error {
	var err error
	if d.f != nil {
		err = d.f.Close()
		d.f = nil
	}
	if d.client != nil {
		if cerr := d.client.Close(); err == nil {
			err = cerr
		}
		d.client = nil
	}
	return err
}
