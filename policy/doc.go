// Package policy loads the audit policy file (YAML) into an *audit.Policy,
// validating it with errors that name the file line.
//
// The format follows the Kubernetes audit Policy: ordered rules, the first
// match wins, levels None (drop the line), Metadata (keep who changed what,
// drop the values) and Full. See Default for the documented default.
package policy
