// Package nrivalidator is the NRI plugin behind cmd/nri-audit-validator: a
// validator (event ValidateContainerAdjustment, NRI v0.12.x) that turns
// every container adjustment into audit lines (package adjustlog) and
// writes them to a Sink: the systemd journal (SYSLOG_IDENTIFIER=nri-audit,
// the line as MESSAGE, the container and pod identity as NRI_* fields) or
// a stream (stdout/stderr) as logfmt or JSON lines.
//
// Input: the runtime's requests, through github.com/containerd/nri/pkg/stub.
// Output: one journal entry or stream line per audit line; the validation
// answer is always "approve", unless Options.FailClosed is set and the
// lines could not be written in time.
//
// A single writer goroutine keeps the lines in order; a request waits for
// its lines at most Options.WriteTimeout, so a stuck journal never makes
// container creation hit the runtime's plugin timeout.
package nrivalidator
