package esbulk

import (
	"encoding/json"
	"fmt"
	"strconv"
)

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// bulkResponse is the part of a _bulk response esbulk reads; with
// filter_path=errors,items.*.status,items.*.error that is all there is.
type bulkResponse struct {
	Errors bool       `json:"errors"`
	Items  []bulkItem `json:"items"`
}

// bulkItem holds the result under whichever action key the server used
// (esbulk sends create; some servers answer index).
type bulkItem struct {
	Create itemResult `json:"create"`
	Index  itemResult `json:"index"`
}

type itemResult struct {
	Status int             `json:"status"`
	Error  json.RawMessage `json:"error"`
}

func (it *bulkItem) result() *itemResult {
	if it.Create.Status != 0 || it.Create.Error != nil {
		return &it.Create
	}
	return &it.Index
}

// decodeBulk parses a bulk response into items (reused) and checks it has
// one item per sent document.
func decodeBulk(body []byte, items []bulkItem, want int) (bulkResponse, error) {
	items = items[:cap(items)]
	clear(items) // encoding/json decodes into existing elements
	resp := bulkResponse{Items: items[:0]}
	if len(body) == 0 {
		return resp, fmt.Errorf("empty response body")
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return resp, fmt.Errorf("malformed response: %w", err)
	}
	if len(resp.Items) != want {
		return resp, fmt.Errorf("response has %d items for %d documents", len(resp.Items), want)
	}
	return resp, nil
}

// itemError is the readable part of an item's error object.
type itemError struct {
	Type     string `json:"type"`
	Reason   string `json:"reason"`
	CausedBy *struct {
		Type   string `json:"type"`
		Reason string `json:"reason"`
	} `json:"caused_by"`
}

func parseItemError(raw json.RawMessage) itemError {
	var e itemError
	if len(raw) == 0 {
		return e
	}
	if raw[0] == '"' { // some servers send the error as a string
		_ = json.Unmarshal(raw, &e.Reason)
		return e
	}
	_ = json.Unmarshal(raw, &e)
	return e
}

func (e itemError) String() string {
	s := e.Type
	if e.Reason != "" {
		if s != "" {
			s += ": "
		}
		s += e.Reason
	}
	if e.CausedBy != nil && (e.CausedBy.Type != "" || e.CausedBy.Reason != "") {
		s += " (caused by " + e.CausedBy.Type + ": " + e.CausedBy.Reason + ")"
	}
	if s == "" {
		s = "no reason given"
	}
	return s
}

// syntheticError builds an Elasticsearch-shaped error object for failures
// the server did not describe (413 has an empty body).
func syntheticError(typ, reason string) json.RawMessage {
	b := []byte(`{"type":`)
	b = strconv.AppendQuote(b, typ) // ASCII types only
	b = append(b, `,"reason":`...)
	r, _ := json.Marshal(reason)
	b = append(b, r...)
	return append(b, '}')
}

// requestError extracts the error object of a whole-request failure body
// ({"error":{...},"status":N}), or builds one from the text.
func requestError(status int, body []byte) json.RawMessage {
	var w struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &w) == nil && len(w.Error) > 0 {
		if w.Error[0] == '{' {
			return w.Error
		}
		var s string
		if json.Unmarshal(w.Error, &s) == nil {
			return syntheticError("http_"+strconv.Itoa(status), s)
		}
	}
	return syntheticError("http_"+strconv.Itoa(status), esErrorReason(body))
}
