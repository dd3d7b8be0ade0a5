//go:build !unix

package testenv

import (
	"os/exec"
	"syscall"
)

func sysProcAttr() *syscall.SysProcAttr { return nil }

// signalGroup can only kill the process itself where there are no process
// groups; graceful stop is not available there.
func signalGroup(cmd *exec.Cmd, _ bool) { _ = cmd.Process.Kill() }
