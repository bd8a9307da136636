// Package demogen keeps the journal of the EFK demo (docker-compose.yml)
// growing in real time, so Kibana shows live data: two nodes that keep
// creating containers.
//
//   - worker-1 runs a runtime that logs the NRI audit lines itself
//     (containerd/nri PR #268): its entries come from internal/journalgen,
//     containerd and CRI-O lines in text and JSON form, plugin errors,
//     ordinary lines.
//   - worker-2 runs a released CRI-O with the nri-audit validator: its
//     entries are what cmd/nri-audit-validator writes
//     (SYSLOG_IDENTIFIER=nri-audit), built by adjustlog from realistic
//     adjustments of the same plugins, with container and pod identity.
//
// Input: Options (journal directory, pace, seed). Output: entries appended
// to DIR/worker-1.journal and DIR/worker-2.journal by piping the Journal
// Export Format into systemd-journal-remote, every Flush, stamped with the
// current time, until the context ends.
package demogen
