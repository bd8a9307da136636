package nrivalidator

import (
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/coreos/go-systemd/v22/journal"

	"github.com/nri-audit/nri-audit/adjustlog"
)

// Format is how a line is rendered.
type Format string

// Formats: logrus' TextFormatter (logfmt) or JSONFormatter, as containerd's
// [debug] format = "text" / "json" would write them.
const (
	FormatText Format = "text"
	FormatJSON Format = "json"
)

// ParseFormat validates a format name.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(s)); f {
	case "":
		return FormatText, nil
	case FormatText, FormatJSON:
		return f, nil
	}
	return "", fmt.Errorf("unknown format %q (want text or json)", s)
}

func (f Format) appendLine(dst []byte, l *adjustlog.Line) []byte {
	if f == FormatJSON {
		return l.AppendJSON(dst)
	}
	return l.AppendText(dst)
}

// Sink writes the lines of one container adjustment, in order. The
// Validator calls it from a single goroutine.
type Sink interface {
	Write(lines []adjustlog.Line, id adjustlog.Identity) error
}

// JournalIdentifier is the SYSLOG_IDENTIFIER of the audit entries; the
// pipeline selects them by it, as it selects containerd and crio.
const JournalIdentifier = "nri-audit"

// Journal fields that carry the identity, besides the keys in MESSAGE, so
// that `journalctl NRI_POD_NAMESPACE=default` works.
const (
	FieldContainerID   = "NRI_CONTAINER_ID"
	FieldContainerName = "NRI_CONTAINER_NAME"
	FieldPodName       = "NRI_POD_NAME"
	FieldPodNamespace  = "NRI_POD_NAMESPACE"
	FieldPodUID        = "NRI_POD_UID"
	FieldRuntime       = "NRI_RUNTIME"
)

// SendFunc sends one journal entry; journal.Send is the real one.
type SendFunc func(message string, priority journal.Priority, vars map[string]string) error

// JournalSink writes each line as one journal entry through the native
// journal protocol: MESSAGE is the rendered line, PRIORITY 6 (info),
// SYSLOG_IDENTIFIER nri-audit, plus the identity fields.
type JournalSink struct {
	mu     sync.Mutex
	format Format
	send   SendFunc
	buf    []byte
}

// NewJournalSink returns a journal sink; send nil means journal.Send.
func NewJournalSink(format Format, send SendFunc) *JournalSink {
	if send == nil {
		send = journal.Send
	}
	return &JournalSink{format: format, send: send}
}

// Write sends the lines, stopping at the first error.
func (s *JournalSink) Write(lines []adjustlog.Line, id adjustlog.Identity) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	vars := map[string]string{"SYSLOG_IDENTIFIER": JournalIdentifier}
	for _, f := range [...]struct{ name, val string }{
		{FieldContainerID, id.ContainerID},
		{FieldContainerName, id.ContainerName},
		{FieldPodName, id.PodName},
		{FieldPodNamespace, id.PodNamespace},
		{FieldPodUID, id.PodUID},
		{FieldRuntime, id.Runtime},
	} {
		if f.val != "" {
			vars[f.name] = f.val
		}
	}
	for i := range lines {
		s.buf = s.format.appendLine(s.buf[:0], &lines[i])
		if err := s.send(string(s.buf), journal.PriInfo, vars); err != nil {
			return fmt.Errorf("nrivalidator: journal: send: %w", err)
		}
	}
	return nil
}

// StreamSink writes the lines of an adjustment, newline-terminated, with
// one Write call.
type StreamSink struct {
	mu     sync.Mutex
	w      io.Writer
	format Format
	buf    []byte
}

// NewStreamSink returns a sink writing to w.
func NewStreamSink(w io.Writer, format Format) *StreamSink {
	return &StreamSink{w: w, format: format}
}

// Write writes the lines.
func (s *StreamSink) Write(lines []adjustlog.Line, _ adjustlog.Identity) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf = s.buf[:0]
	for i := range lines {
		s.buf = s.format.appendLine(s.buf, &lines[i])
		s.buf = append(s.buf, '\n')
	}
	if _, err := s.w.Write(s.buf); err != nil {
		return fmt.Errorf("nrivalidator: stream: write: %w", err)
	}
	if cap(s.buf) > 1<<20 {
		s.buf = nil
	}
	return nil
}
