// Package flbhost runs a Fluent Bit Go output plugin (.so) inside host.c, a
// C program that reproduces what Fluent Bit's Go proxy does (struct
// layouts of 4.x/5.x, dlopen/dlsym, registration, per-instance Init,
// flushes on small malloc'd coroutine stacks from non-Go threads, workers,
// retries with identical bytes, exit, unregister, hot reload). A C host is
// required: a Go host would put two Go runtimes in one process.
//
// Input: a Scenario (plugin path, [OUTPUT] sections with properties and
// chunk files, stack size, cycles). Output: a Result with one parsed Line
// per host call ("flush cycle=1 instance=0 ... rc=1 result=OK ..."), the
// plugin's stderr and the exit code. BuildHost compiles host.c with cc;
// BuildPlugin builds the plugin with go build -buildmode=c-shared.
package flbhost
