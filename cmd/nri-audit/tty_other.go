//go:build !linux

package main

import "io"

// isTerminal is false off Linux: progress lines are for the Linux shipper.
func isTerminal(io.Writer) bool { return false }
