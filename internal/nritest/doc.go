// Package nritest runs NRI's runtime side (github.com/containerd/nri
// pkg/adaptation) in-process on a temporary socket, with test plugins
// connected through pkg/stub in goroutines, as NRI's own adaptation tests
// do. Tests use it to drive CreateContainer through real NRI code, with
// real ttrpc connections, and observe what a validator plugin receives.
//
// Input: adjustment functions for the mutating test plugins and any stub
// plugin. Output: a Runtime whose Create returns NRI's answer. Only for
// tests and benchmarks.
package nritest
