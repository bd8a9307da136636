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

// maxLoggedRaw bounds the bytes of undecodable data put into a log line
// when no dead letter is configured.
const maxLoggedRaw = 64 << 10

// rawDeadLetter receives the undecodable tail of a malformed chunk: a line
// in dead_letter_path, a document in dead_letter_index, or, with neither,
// an error log line carrying the bytes. Never silent.
type rawDeadLetter struct {
	log    *slog.Logger
	prefix string

	mu   sync.Mutex
	path string
	f    *os.File

	index  string
	client *esbulk.Client // targets index; nil without dead_letter_index
}

func newRawDeadLetter(cfg Config, main *esbulk.Client, log *slog.Logger) (*rawDeadLetter, error) {
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
		es.Index, es.DataStream, es.DeadLetterIndex, es.DeadLetterPath = d.index, "", "", ""
		es.StatsInterval = -1
		es.Logger = log
		c, err := esbulk.New(es)
		if err != nil {
			if d.f != nil {
				d.f.Close()
			}
			return nil, fmt.Errorf("flbout: key dead_letter_index=%q: %w", d.index, err)
		}
		d.client = c
	}
	return d, nil
}

func (d *rawDeadLetter) where() string {
	switch {
	case d.f != nil:
		return d.path
	case d.client != nil:
		return "index " + d.index
	}
	return "log"
}

// record describes the bad bytes as a document; its id is derived from
// them, so a retried flush does not store them twice.
func rawRecord(r *audit.Record, prefix string, cerr *flbchunk.Error, data []byte) {
	r.Reset()
	r.Timestamp = time.Now().UTC().Truncate(time.Millisecond)
	r.AddString(prefix+audit.KeyParseError, "undecodable Fluent Bit chunk data: "+cerr.Reason)
	r.AddString(prefix+"chunk_offset", strconv.Itoa(cerr.Offset))
	r.AddString(prefix+"chunk_events_before", strconv.Itoa(cerr.Events))
	r.AddString(prefix+"chunk_bytes", strconv.Itoa(len(data)))
	r.AddString(prefix+"chunk_data_base64", base64.StdEncoding.EncodeToString(data))
	sum := sha256.Sum256(append([]byte("nri-audit/raw\x00"+strconv.Itoa(cerr.Offset)+"\x00"), data...))
	copy(r.ID[:], sum[:])
}

func (d *rawDeadLetter) write(ctx context.Context, cerr *flbchunk.Error, data []byte) error {
	var r audit.Record
	rawRecord(&r, d.prefix, cerr, data)
	switch {
	case d.f != nil:
		line := r.AppendJSON(make([]byte, 0, len(data)*4/3+512))
		line = append(line, '\n')
		d.mu.Lock()
		defer d.mu.Unlock()
		// One write per line: O_APPEND keeps lines whole even when the
		// Elasticsearch dead letter appends to the same file.
		if _, err := d.f.Write(line); err != nil {
			return fmt.Errorf("flbout: dead letter %s: %w", d.path, err)
		}
		return nil
	case d.client != nil:
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
	d.log.Error("dead letter (no dead_letter_path or dead_letter_index set): undecodable chunk data",
		"reason", cerr.Reason, "offset", cerr.Offset, "events_before", cerr.Events, "bytes", len(data),
		"truncated", truncated, "data_base64", base64.StdEncoding.EncodeToString(shown))
	return nil
}

func (d *rawDeadLetter) close() error {
	var err error
	if d.f != nil {
		err = d.f.Close()
	}
	if d.client != nil {
		if cerr := d.client.Close(); err == nil {
			err = cerr
		}
	}
	return err
}
