// Package doctortest is a scripted doctor.Host for tests of the doctor and
// of the commands that run it.
package doctortest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
)

// Host answers from tables. A command that is in neither Out nor Errs fails,
// so a test notices a check it did not expect.
type Host struct {
	Env   map[string]string
	Paths map[string]string // program -> path on PATH
	Out   map[string]string // "docker -v" -> stdout
	Errs  map[string]error  // "docker version ..." -> error
	Files map[string]string
	Busy  map[string]bool // "127.0.0.1:8443" -> in use
	// Privileged are addresses this user may not bind (ports below 1024
	// without root).
	Privileged map[string]bool
	CPUs       int
	OS         string
}

// Healthy is a Linux machine with 4 CPUs, 16 GiB, a running Docker and
// kind-friendly inotify limits.
func Healthy() *Host {
	return &Host{
		Env:   map[string]string{},
		Paths: map[string]string{"docker": "/usr/bin/docker"},
		Out: map[string]string{
			"docker -v": "Docker version 28.2.2, build e6534b4\n",
			"docker version --format {{.Server.Version}}": "28.2.2\n",
		},
		Errs: map[string]error{},
		Files: map[string]string{
			"/proc/meminfo":                           "MemTotal:       16384000 kB\n",
			"/proc/sys/fs/inotify/max_user_watches":   "524288\n",
			"/proc/sys/fs/inotify/max_user_instances": "512\n",
		},
		Busy: map[string]bool{},
		CPUs: 4,
		OS:   "linux",
	}
}

// DaemonDown makes the Docker client answer but not its daemon.
func (h *Host) DaemonDown() *Host {
	h.Errs["docker version --format {{.Server.Version}}"] = errors.New("Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?")
	return h
}

// SocketDenied makes the Docker daemon run but refuse this user its
// socket, as for a user not in the docker group.
func (h *Host) SocketDenied() *Host {
	h.Errs["docker version --format {{.Server.Version}}"] = errors.New("permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock: Get \"http://%2Fvar%2Frun%2Fdocker.sock/v1.47/version\": dial unix /var/run/docker.sock: connect: permission denied")
	return h
}

// Getenv reads Env.
func (h *Host) Getenv(k string) string { return h.Env[k] }

// LookPath reads Paths.
func (h *Host) LookPath(n string) (string, error) {
	if p, ok := h.Paths[n]; ok {
		return p, nil
	}
	return "", fmt.Errorf("exec: %q: executable file not found in $PATH", n)
}

// Output answers from Errs, then Out.
func (h *Host) Output(_ context.Context, name string, args ...string) ([]byte, error) {
	key := strings.Join(append([]string{name}, args...), " ")
	if err, ok := h.Errs[key]; ok {
		return nil, err
	}
	if o, ok := h.Out[key]; ok {
		return []byte(o), nil
	}
	return nil, fmt.Errorf("doctortest: unexpected command %q", key)
}

// Listen fails for Busy addresses and otherwise opens a real loopback port.
func (h *Host) Listen(_, addr string) (net.Listener, error) {
	if h.Busy[addr] {
		return nil, fmt.Errorf("listen tcp %s: bind: address already in use", addr)
	}
	if h.Privileged[addr] {
		return nil, &net.OpError{Op: "listen", Net: "tcp", Err: os.NewSyscallError("bind", syscall.EACCES)}
	}
	return net.Listen("tcp", "127.0.0.1:0")
}

// ReadFile reads Files.
func (h *Host) ReadFile(n string) ([]byte, error) {
	if c, ok := h.Files[n]; ok {
		return []byte(c), nil
	}
	return nil, fmt.Errorf("open %s: no such file or directory", n)
}

// NumCPU is CPUs.
func (h *Host) NumCPU() int { return h.CPUs }

// GOOS is OS.
func (h *Host) GOOS() string { return h.OS }
