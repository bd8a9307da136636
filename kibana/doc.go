// Package kibana is a small client for the two Kibana APIs nri-audit needs
// to install its dashboards: the status API, to wait until Kibana can serve
// requests, and the saved-objects import API.
//
// Input: a Kibana base URL (with an optional base path and space), optional
// basic or API-key credentials, and an NDJSON export (data view, Lens
// visualizations, saved search, dashboard).
// Output: an ImportResult mirroring Kibana's answer, and an error naming
// every object Kibana refused (type/id "title": reason) when the import is
// not a full success. Kibana answers HTTP 200 with "success":false for
// partial failures, so the body, not the status code, decides.
package kibana
