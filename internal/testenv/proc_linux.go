package testenv

import "syscall"

// sysProcAttr puts a server in its own process group, and has the kernel kill
// it if the test binary dies without cleaning up (a `go test -timeout` panic
// skips t.Cleanup), so no orphaned servers pile up. Pdeathsig fires when the
// starting OS thread exits, which the Go runtime only does for goroutines that
// exit while locked to their thread; tests do not start servers from those.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
