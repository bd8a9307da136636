//go:build !linux

package victorialogs

import "syscall"

func sysProcAttr() *syscall.SysProcAttr { return nil }
