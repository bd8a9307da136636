// Package journald reads containerd and CRI-O entries from the systemd
// journal with github.com/coreos/go-systemd/v22/sdjournal and keeps the
// shipper's place in it.
//
// Input: a journal directory, a list of journal files, or the local journal;
// matches (default SYSLOG_IDENTIFIER=containerd, crio or nri-audit, ORed,
// plus any units); a start position (head, tail, a time, or after a saved
// cursor). Output: batches of audit.Entry on a channel, in journal order,
// each entry with its data fields in the order the journal enumerates them
// (a repeated field keeps its first position, the other values in More),
// its receive time and its cursor; address fields (__*) are not copied.
//
// One goroutine owns the sd_journal handle for its whole life, locked to
// its OS thread (sd_journal_open(3): a handle must not move between
// threads): it opens, seeks, reads, waits and closes. In follow mode it
// waits with a bounded timeout, so Close and context cancellation take
// effect within WaitTimeout, and treats SD_JOURNAL_INVALIDATE (files added
// or removed by rotation and vacuuming) as new data: libsystemd then
// drops, and closes, the files that were deleted.
//
// The hot path reads an entry's data with sd_journal_enumerate_data in one
// cgo call per batch (a small C shim on the same handle); sdjournal's
// GetEntry would lose field order and repeated values. Field values are
// never cut: the data threshold is 0 unless Config.MaxFieldSize says
// otherwise.
//
// CursorStore keeps the cursor of the last acknowledged entry in a file,
// replaced atomically (temporary file, fsync, rename, fsync of the
// directory).
//
// Reading needs cgo, Linux and libsystemd (libsystemd-dev at build time, the
// libsystemd0 library at run time, loaded with dlopen). Without cgo, Open
// returns ErrUnsupported.
package journald
