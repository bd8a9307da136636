//go:build race

package main

// raceBuild makes the test build the command with -race too, so the build
// reuses the packages the race-enabled test already compiled.
const raceBuild = true
