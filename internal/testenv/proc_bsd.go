//go:build unix && !linux

package testenv

import "syscall"

// sysProcAttr puts a server in its own process group so it can be stopped
// with its children. (Pdeathsig is Linux-only.)
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
