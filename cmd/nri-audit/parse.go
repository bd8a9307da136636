package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/nri-audit/nri-audit/audit"
	"github.com/nri-audit/nri-audit/journalctl"
	"github.com/nri-audit/nri-audit/parser"
	"github.com/nri-audit/nri-audit/policy"
)

// maxLine bounds one input line; journald's own limit is far lower, and a
// longer line is reported, not silently cut.
var maxLine = 64 << 20 // a variable so tests can lower it

func runParse(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("parse", flag.ContinueOnError)
	fs.SetOutput(stderr)
	input := fs.String("input", "raw", "input format: raw (one MESSAGE per line) or journal-json (journalctl -o json)")
	var bo builderFlags
	bo.register(fs)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: nri-audit parse [flags] < input\n\n"+
			"Reads log lines (or journalctl -o json entries) on stdin and writes, in order,\n"+
			"one JSON document per entry on stdout: exactly what would be sent to\n"+
			"Elasticsearch. Bad lines become documents with nri_parse_error; they never\n"+
			"stop the command.\n\n"+
			"  journalctl -u containerd -o json | nri-audit parse --input journal-json | jq\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "nri-audit parse: unexpected argument %q (input is read from stdin)\n", fs.Arg(0))
		return errUsage
	}
	var journalJSON bool
	switch *input {
	case "raw":
	case "journal-json":
		journalJSON = true
	default:
		fmt.Fprintf(stderr, "nri-audit parse: --input %q: want raw or journal-json\n", *input)
		return errUsage
	}
	b, err := bo.builder()
	if err != nil {
		fmt.Fprintf(stderr, "nri-audit parse: %v\n", err)
		return errUsage
	}

	lr := lineReader{r: bufio.NewReaderSize(stdin, 64<<10)}
	w := bufio.NewWriterSize(stdout, 64<<10)
	var (
		e   audit.Entry
		r   audit.Record
		out []byte
	)
	for lineNo := 1; ; lineNo++ {
		if ctx.Err() != nil {
			break
		}
		line, tooLong, err := lr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			w.Flush()
			return fmt.Errorf("read stdin: %w", err)
		}
		if tooLong {
			// Input, not an I/O failure: reported, and the command goes on
			// (DESIGN.md §3.1 rule 17).
			fmt.Fprintf(stderr, "nri-audit parse: line %d: longer than %d bytes, skipped\n", lineNo, maxLine)
			continue
		}
		if journalJSON {
			if len(trimSpace(line)) == 0 {
				continue
			}
			if err := journalctl.Decode(line, &e); err != nil {
				// Not a journal entry: ship the line itself so nothing is lost.
				e.Reset()
				e.Add("MESSAGE", string(line))
				e.Realtime = time.Now()
				fmt.Fprintf(stderr, "nri-audit parse: line %d: %v (shipped as MESSAGE)\n", lineNo, err)
			}
		} else {
			e.Reset()
			e.Add("MESSAGE", string(line))
		}
		if !b.Build(&e, &r) {
			continue
		}
		out = r.AppendJSON(out[:0])
		out = append(out, '\n')
		if _, err := w.Write(out); err != nil {
			return fmt.Errorf("write: %w", err)
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

// lineReader splits input into lines like bufio.ScanLines (a final line
// without a newline counts, a trailing \r is dropped), but a line longer than
// maxLine is skipped and reported instead of ending the input.
type lineReader struct {
	r   *bufio.Reader
	buf []byte
}

// next returns the next line (valid until the following call), whether it
// was too long (then the line is empty), or io.EOF after the last line.
func (l *lineReader) next() ([]byte, bool, error) {
	l.buf = l.buf[:0]
	tooLong := false
	for {
		chunk, err := l.r.ReadSlice('\n')
		if !tooLong {
			if len(l.buf)+len(chunk) > maxLine+1 { // +1: the newline
				tooLong, l.buf = true, l.buf[:0]
			} else {
				l.buf = append(l.buf, chunk...)
			}
		}
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF:
			if len(l.buf) == 0 && !tooLong {
				return nil, false, io.EOF
			}
		case err != nil:
			return nil, false, err
		}
		if tooLong {
			return nil, true, nil
		}
		line := l.buf
		if n := len(line); n > 0 && line[n-1] == '\n' {
			line = line[:n-1]
		}
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		return line, false, nil
	}
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// builderFlags are the parser options shared by parse and ship.
type builderFlags struct {
	prefix     string
	messageKey string
	mode       string
	policyFile string
	keepFields string
	dropFields string
}

func (o *builderFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&o.prefix, "key-prefix", audit.DefaultPrefix, "prefix of the keys parsed from MESSAGE")
	fs.StringVar(&o.messageKey, "message-key", "MESSAGE", "journal field holding the log line")
	fs.StringVar(&o.mode, "mode", string(parser.ModeAll), "which lines to keep: all, audit (the 45 audit events and NRI errors) or nri (lines with NRI keys)")
	fs.StringVar(&o.policyFile, "policy", "", "audit policy file (YAML); default: keep all, redact env values")
	fs.StringVar(&o.keepFields, "keep-fields", "", "comma-separated journal fields to keep (glob patterns); default: all")
	fs.StringVar(&o.dropFields, "drop-fields", "", "comma-separated journal fields to drop (glob patterns)")
}

func (o *builderFlags) builder() (*parser.Builder, error) {
	opts := parser.Options{
		Prefix:     o.prefix,
		MessageKey: o.messageKey,
		Mode:       parser.Mode(o.mode),
		KeepFields: splitList(o.keepFields),
		DropFields: splitList(o.dropFields),
	}
	if o.policyFile != "" {
		p, err := policy.LoadFile(o.policyFile)
		if err != nil {
			return nil, err
		}
		opts.Policy = p
	}
	return parser.New(opts)
}
