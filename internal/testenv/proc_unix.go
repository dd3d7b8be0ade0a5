//go:build unix

package testenv

import (
	"os/exec"
	"syscall"
)

// signalGroup signals the whole process group of cmd: servers start helpers
// (Gitea runs git) that must not outlive them.
func signalGroup(cmd *exec.Cmd, kill bool) {
	sig := syscall.SIGTERM
	if kill {
		sig = syscall.SIGKILL
	}
	_ = syscall.Kill(-cmd.Process.Pid, sig)
}
