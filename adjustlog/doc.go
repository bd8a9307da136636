// Package adjustlog turns the container adjustment an NRI validator plugin
// sees into the audit lines of containerd/nri PR #268, rendered byte for
// byte as the runtimes' logrus would write them, plus the container and pod
// identity the PR lines lack.
//
// Input: a *api.ValidateContainerAdjustmentRequest (the pristine container,
// the merged adjustment and the per-field owning plugins, NRI v0.12.x) and
// an Identity. Output: []Line, one per change, in the order the runtime's
// generator would log them (nri-audit-format.md §1.4). A Line renders as a
// logrus TextFormatter line (AppendText: time, level, msg, then the keys
// sorted, values quoted by logrus' rule) or a logrus JSONFormatter line
// (AppendJSON: all keys sorted, HTML escaping on), without the trailing
// newline.
//
// Messages come from the audit catalog (audit.Events), never retyped here.
// Env values are written as "<redacted>" unless Options.ClearEnvValues is
// set. The package is pure Go and does no I/O.
package adjustlog
