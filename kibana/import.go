package kibana

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
)

// ImportResult is Kibana's answer to POST /api/saved_objects/_import.
type ImportResult struct {
	Success        bool             `json:"success"`
	SuccessCount   int              `json:"successCount"`
	SuccessResults []ImportedObject `json:"successResults"`
	Errors         []ObjectError    `json:"errors"`
	Warnings       []Warning        `json:"warnings"`
}

// ImportedObject is one object Kibana wrote.
type ImportedObject struct {
	Type          string `json:"type"`
	ID            string `json:"id"`
	DestinationID string `json:"destinationId,omitempty"`
	Overwrite     bool   `json:"overwrite,omitempty"`
	Meta          Meta   `json:"meta"`
}

// Meta is the display data Kibana attaches to an object in results.
type Meta struct {
	Title string `json:"title"`
	Icon  string `json:"icon"`
}

// ObjectError is one object Kibana refused.
type ObjectError struct {
	Type  string      `json:"type"`
	ID    string      `json:"id"`
	Title string      `json:"title"`
	Meta  Meta        `json:"meta"`
	Error ErrorDetail `json:"error"`
}

// ErrorDetail says why an object was refused. Type is one of Kibana's
// import error types: conflict, ambiguous_conflict, missing_references,
// unsupported_type, unknown.
type ErrorDetail struct {
	Type       string      `json:"type"`
	Message    string      `json:"message,omitempty"`
	StatusCode int         `json:"statusCode,omitempty"`
	References []Reference `json:"references,omitempty"`
	// DestinationID is set for conflicts with an object of another id.
	DestinationID string `json:"destinationId,omitempty"`
}

// Reference names a saved object (missing references of an import error).
type Reference struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// Warning is a non-fatal note of an import (e.g. an action is required).
type Warning struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// String renders one refused object for people:
// `lens/nri-audit-by-plugin "Adjustments by plugin": missing_references [index-pattern/nri-audit]`.
func (e ObjectError) String() string {
	var b strings.Builder
	b.WriteString(e.Type + "/" + e.ID)
	title := e.Title
	if title == "" {
		title = e.Meta.Title
	}
	if title != "" {
		b.WriteString(" " + strconv.Quote(title))
	}
	b.WriteString(": ")
	if e.Error.Type == "" {
		b.WriteString("error")
	} else {
		b.WriteString(e.Error.Type)
	}
	if len(e.Error.References) > 0 {
		b.WriteString(" [")
		for i, r := range e.Error.References {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(r.Type + "/" + r.ID)
		}
		b.WriteString("]")
	}
	if e.Error.DestinationID != "" {
		b.WriteString(" (existing object " + e.Error.DestinationID + ")")
	}
	if e.Error.Message != "" {
		b.WriteString(": " + oneLine(e.Error.Message, 300))
	}
	return b.String()
}

// ImportError is returned when Kibana answered but did not import every
// object. Result holds the whole answer.
type ImportError struct {
	Result *ImportResult
}

func (e *ImportError) Error() string {
	r := e.Result
	var b strings.Builder
	fmt.Fprintf(&b, "kibana: import: %d object(s) refused, %d imported", len(r.Errors), r.SuccessCount)
	if len(r.Errors) == 0 {
		b.WriteString(" (Kibana reported success=false without errors)")
	}
	for _, oe := range r.Errors {
		b.WriteString("; ")
		b.WriteString(oe.String())
	}
	return b.String()
}

// ImportOptions modify an import.
type ImportOptions struct {
	// Overwrite replaces objects with the same id (the default way to
	// upgrade installed dashboards). Without it, existing objects come back
	// as conflict errors.
	Overwrite bool
}

// Import sends an NDJSON export to Kibana. filename must end in ".ndjson"
// (Kibana checks the extension). It returns the result and, when Kibana
// did not report success, an *ImportError listing every refused object;
// any other failure (transport, non-2xx, unexpected body) is an *HTTPError
// or a wrapped transport error, with a nil result.
func (c *Client) Import(ctx context.Context, filename string, ndjson []byte, o ImportOptions) (*ImportResult, error) {
	if !strings.HasSuffix(filename, ".ndjson") || strings.ContainsAny(filename, "/\\\"\r\n") {
		return nil, fmt.Errorf("kibana: import: file name %q: want a plain name ending in .ndjson", filename)
	}
	if len(bytes.TrimSpace(ndjson)) == 0 {
		return nil, fmt.Errorf("kibana: import: %s is empty", filename)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	h := make(textproto.MIMEHeader)
	h.Set("Content-Disposition", `form-data; name="file"; filename="`+filename+`"`)
	h.Set("Content-Type", "application/ndjson")
	part, err := mw.CreatePart(h)
	if err != nil {
		return nil, fmt.Errorf("kibana: import: %w", err)
	}
	if _, err := part.Write(ndjson); err != nil {
		return nil, fmt.Errorf("kibana: import: %w", err)
	}
	if err := mw.Close(); err != nil {
		return nil, fmt.Errorf("kibana: import: %w", err)
	}

	q := url.Values{}
	if o.Overwrite {
		q.Set("overwrite", "true")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint("/api/saved_objects/_import", q, true), &body)
	if err != nil {
		return nil, fmt.Errorf("kibana: import: %w", err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	code, respBody, ct, err := c.do(req)
	if err != nil {
		return nil, fmt.Errorf("kibana: import: %w", err)
	}
	if code/100 != 2 {
		return nil, newHTTPError("import", code, respBody)
	}
	res, err := DecodeImportResult(respBody)
	if err != nil {
		return nil, fmt.Errorf("kibana: import: HTTP %d, %s: %w", code, orNone(ct), err)
	}
	c.logger.Info("kibana import", "file", filename, "success", res.Success,
		"imported", res.SuccessCount, "refused", len(res.Errors))
	for _, w := range res.Warnings {
		c.logger.Warn("kibana import warning", "type", w.Type, "message", w.Message)
	}
	if !res.Success || len(res.Errors) > 0 {
		return res, &ImportError{Result: res}
	}
	return res, nil
}

// DecodeImportResult parses the body of an import answer. A body that is
// not a JSON object carrying "success" (a proxy's HTML page, say) is an
// error, so a broken answer is never mistaken for a success.
func DecodeImportResult(body []byte) (*ImportResult, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(body, &probe); err != nil {
		return nil, fmt.Errorf("not a JSON object: %s", oneLine(string(body), 200))
	}
	raw, ok := probe["success"]
	if !ok {
		return nil, fmt.Errorf("no \"success\" in the answer: %s", oneLine(string(body), 200))
	}
	var res ImportResult
	if err := json.Unmarshal(raw, &res.Success); err != nil {
		return nil, fmt.Errorf("\"success\" is not a boolean: %s", oneLine(string(raw), 50))
	}
	if err := json.Unmarshal(body, &res); err != nil {
		return nil, fmt.Errorf("decode answer: %w", err)
	}
	return &res, nil
}

// IsUnauthorized reports whether err is Kibana refusing the credentials
// (401) or the privileges (403).
func IsUnauthorized(err error) bool {
	var he *HTTPError
	return errors.As(err, &he) && (he.StatusCode == http.StatusUnauthorized || he.StatusCode == http.StatusForbidden)
}
