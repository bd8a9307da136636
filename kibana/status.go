package kibana

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Status is what GET /api/status says about Kibana.
type Status struct {
	Version string // e.g. "8.19.3"
	// Level is status.overall.level: available, degraded, unavailable or
	// critical (Kibana 8.x).
	Level   string
	Summary string
	// SavedObjects and Elasticsearch are the levels of the two core
	// services an import needs.
	SavedObjects  string
	Elasticsearch string
}

// Ready reports whether an import can succeed now: Kibana is available, or
// only degraded by some plugin while its saved-objects and Elasticsearch
// services are available.
func (s Status) Ready() bool {
	if s.Level == "available" {
		return true
	}
	return s.Level == "degraded" && s.SavedObjects == "available" && s.Elasticsearch == "available"
}

type statusBody struct {
	Version struct {
		Number string `json:"number"`
	} `json:"version"`
	Status struct {
		Overall struct {
			Level   string `json:"level"`
			Summary string `json:"summary"`
		} `json:"overall"`
		Core struct {
			Elasticsearch struct {
				Level string `json:"level"`
			} `json:"elasticsearch"`
			SavedObjects struct {
				Level string `json:"level"`
			} `json:"savedObjects"`
		} `json:"core"`
	} `json:"status"`
}

// GetStatus asks Kibana for its status once. Kibana answers 503 with the
// same JSON while it is unavailable, and 503 with a plain-text "Kibana
// server is not ready yet" while it starts; both return an *HTTPError
// together with whatever status could be read.
func (c *Client) GetStatus(ctx context.Context) (Status, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.endpoint("/api/status", nil, false), nil)
	if err != nil {
		return Status{}, fmt.Errorf("kibana: status: %w", err)
	}
	code, body, ct, err := c.do(req)
	if err != nil {
		return Status{}, fmt.Errorf("kibana: status: %w", err)
	}
	var sb statusBody
	var st Status
	parsed := ct == "application/json" && json.Unmarshal(body, &sb) == nil && sb.Status.Overall.Level != ""
	if parsed {
		st = Status{
			Version:       sb.Version.Number,
			Level:         sb.Status.Overall.Level,
			Summary:       sb.Status.Overall.Summary,
			SavedObjects:  sb.Status.Core.SavedObjects.Level,
			Elasticsearch: sb.Status.Core.Elasticsearch.Level,
		}
	}
	if code/100 != 2 {
		return st, newHTTPError("status", code, body)
	}
	if !parsed {
		return st, fmt.Errorf("kibana: status: unexpected answer (HTTP %d, %s): %s", code, orNone(ct), oneLine(string(body), 200))
	}
	return st, nil
}

// WaitReady polls GET /api/status until Status.Ready, for at most timeout.
// Connection errors and 5xx answers mean "not yet"; 401, 403 and 404 do
// not get better by waiting and are returned at once.
func (c *Client) WaitReady(parent context.Context, timeout time.Duration) (Status, error) {
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	start := time.Now()
	delay := c.poll
	var last error
	attempt := 0
	for {
		probe, probeCancel := context.WithTimeout(ctx, 10*time.Second)
		st, err := c.GetStatus(probe)
		probeCancel()
		if err == nil && st.Ready() {
			c.logger.Info("kibana ready", "url", c.root.Redacted(), "version", st.Version, "level", st.Level,
				"waited", time.Since(start).Round(time.Millisecond))
			return st, nil
		}
		var he *HTTPError
		if errors.As(err, &he) {
			switch he.StatusCode {
			case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound:
				return st, err
			}
		}
		switch {
		case err != nil && ctx.Err() != nil && last != nil:
			// The probe was cut by the deadline: the previous answer
			// says more than "context deadline exceeded".
		case err != nil:
			last = err
		default:
			last = fmt.Errorf("kibana: status: level %q (%s)", st.Level, st.Summary)
		}
		if attempt++; attempt == 1 {
			c.logger.Info("waiting for kibana", "url", c.root.Redacted(), "timeout", timeout, "reason", last)
		} else {
			c.logger.Debug("kibana not ready", "err", last)
		}
		if sleep(ctx, delay) != nil {
			if err := parent.Err(); err != nil {
				return st, fmt.Errorf("kibana: waiting for %s: %w", c.root.Redacted(), err)
			}
			return st, fmt.Errorf("kibana: not ready after %s: %w", timeout, last)
		}
		delay = min(delay*2, max(5*time.Second, c.poll))
	}
}

func orNone(s string) string {
	if s == "" {
		return "no content type"
	}
	return s
}
