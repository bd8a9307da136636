package esbulk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// ServerInfo is what the root endpoint (GET /) tells about a server.
type ServerInfo struct {
	URL         string
	Version     string // version.number
	ClusterName string
	Flavor      string // version.build_flavor ("default", "serverless", ...)
}

// Check asks every URL for GET / and verifies it is Elasticsearch (the
// X-Elastic-Product header and a version in the JSON body) and accepts the
// credentials. It returns nil when at least one URL is healthy and none
// refuses the credentials; otherwise an error that says, per URL, whether
// it was unreachable, not Elasticsearch, or refused the credentials.
func (c *Client) Check(ctx context.Context) error {
	_, err := c.Info(ctx)
	return err
}

// Info is Check returning what the healthy servers reported.
func (c *Client) Info(ctx context.Context) ([]ServerInfo, error) {
	var infos []ServerInfo
	var errs []error
	authFailed := false
	for i := range c.endpoints {
		ep := &c.endpoints[i]
		info, err := c.checkOne(ctx, ep)
		if err != nil {
			if errors.Is(err, ErrAuth) {
				authFailed = true
			}
			errs = append(errs, err)
			continue
		}
		infos = append(infos, info)
		c.log.Info("esbulk: connected", "url", ep.base, "version", info.Version, "cluster", info.ClusterName)
	}
	if len(errs) == 0 {
		return infos, nil
	}
	if len(infos) > 0 && !authFailed {
		for _, err := range errs {
			c.log.Warn("esbulk: health check failed for one URL; using the others", "error", err)
		}
		return infos, nil
	}
	return infos, errors.Join(errs...)
}

func (c *Client) checkOne(ctx context.Context, ep *endpoint) (ServerInfo, error) {
	info := ServerInfo{URL: ep.base}
	resp, _, err := c.do(ctx, ep, http.MethodGet, ep.base+"/", nil, false, "", nil)
	if err != nil {
		if ctx.Err() != nil {
			return info, fmt.Errorf("esbulk: check %s: %w", ep.base, ctx.Err())
		}
		var te *transportError
		if errors.As(err, &te) {
			return info, fmt.Errorf("esbulk: check %s: cannot reach the server: %w", ep.base, te.err)
		}
		return info, fmt.Errorf("esbulk: check %s: %w", ep.base, err)
	}
	switch resp.status {
	case http.StatusUnauthorized:
		return info, fmt.Errorf("esbulk: check %s: %w: HTTP 401 (wrong or missing user/password, API key or token): %s",
			ep.base, ErrAuth, esErrorReason(resp.body))
	case http.StatusForbidden:
		return info, fmt.Errorf("esbulk: check %s: %w: HTTP 403 (the credentials lack a privilege): %s",
			ep.base, ErrAuth, esErrorReason(resp.body))
	}
	product := resp.header.Get("X-Elastic-Product")
	if resp.status/100 != 2 {
		if product == "" {
			return info, fmt.Errorf("esbulk: check %s: not Elasticsearch: HTTP %d %s (Content-Type %q, no X-Elastic-Product header)",
				ep.base, resp.status, snippet(resp.body), resp.header.Get("Content-Type"))
		}
		return info, fmt.Errorf("esbulk: check %s: HTTP %d: %s", ep.base, resp.status, esErrorReason(resp.body))
	}
	if product != "Elasticsearch" {
		return info, fmt.Errorf("esbulk: check %s: not Elasticsearch: the response has no \"X-Elastic-Product: Elasticsearch\" header (got %q, Content-Type %q; Elasticsearch sends it since 7.14)",
			ep.base, product, resp.header.Get("Content-Type"))
	}
	var body struct {
		ClusterName string `json:"cluster_name"`
		Version     struct {
			Number string `json:"number"`
			Flavor string `json:"build_flavor"`
		} `json:"version"`
	}
	if err := json.Unmarshal(resp.body, &body); err != nil {
		return info, fmt.Errorf("esbulk: check %s: not Elasticsearch: GET / did not return JSON: %v (%s)", ep.base, err, snippet(resp.body))
	}
	if body.Version.Number == "" {
		return info, fmt.Errorf("esbulk: check %s: not Elasticsearch: GET / has no version.number (%s)", ep.base, snippet(resp.body))
	}
	info.Version, info.ClusterName, info.Flavor = body.Version.Number, body.ClusterName, body.Version.Flavor
	return info, nil
}

func snippet(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 120 {
		s = s[:120] + "..."
	}
	if s == "" {
		s = "(empty body)"
	}
	return s
}
