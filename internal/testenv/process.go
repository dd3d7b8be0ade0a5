package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// process is a server child process whose output goes to a log file, so a
// failed start can be explained with the log's tail.
type process struct {
	name     string
	cmd      *exec.Cmd
	logPath  string
	logStart int64         // size of the log when this process started: earlier runs wrote the rest
	done     chan struct{} // closed when the process has exited
	err      error         // Wait's result, valid after done is closed
}

// startProcess starts bin with args in its own process group (so stopping it
// also stops children such as Gitea's git processes), appending its output to
// logPath.
func startProcess(name, logPath string, env []string, bin string, args ...string) (*process, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("start %s: open log: %w", name, err)
	}
	logStart, err := logFile.Seek(0, io.SeekEnd)
	if err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: log: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, logPath: logPath, logStart: logStart, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process has ended.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop asks the process group to terminate and kills it if it has not
// exited after grace. Stopping an exited process is a no-op.
func (p *process) stop(grace time.Duration) error {
	if p == nil || p.exited() {
		return nil
	}
	signalGroup(p.cmd, false)
	select {
	case <-p.done:
		return nil
	case <-time.After(grace):
	}
	signalGroup(p.cmd, true)
	select {
	case <-p.done:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("stop %s: pid %d did not exit after SIGKILL", p.name, p.cmd.Process.Pid)
	}
}

// lostPort returns errPortTaken, with the log's tail, when the process's
// log since it started says its port was taken; otherwise nil.
func (p *process) lostPort() error {
	f, err := os.Open(p.logPath)
	if err != nil {
		return nil
	}
	defer f.Close()
	if _, err := f.Seek(p.logStart, io.SeekStart); err != nil {
		return nil
	}
	data, err := io.ReadAll(f)
	if err != nil || !bytes.Contains(data, []byte("address already in use")) {
		return nil
	}
	return fmt.Errorf("%s: %w; last lines of %s:\n%s", p.name, errPortTaken, p.logPath, p.logTail(10))
}

// logTail returns the last n lines of the process's log.
func (p *process) logTail(n int) string {
	return tailFile(p.logPath, n)
}

func tailFile(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// runCommand runs a short-lived command to completion and returns its
// stdout; a failure includes its combined output.
func runCommand(ctx context.Context, env []string, bin string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %w\n%s%s", filepath.Base(bin), strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String(), nil
}

// waitReady polls check until it succeeds, the process exits, ctx ends or
// timeout passes. Errors carry the tail of the process's log because that is
// where the reason a server did not come up is.
func waitReady(ctx context.Context, p *process, timeout time.Duration, check func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		callCtx, callCancel := context.WithTimeout(ctx, 2*time.Second)
		last = check(callCtx)
		callCancel()
		if last == nil {
			return nil
		}
		// Some servers (Gitea) log a failed bind and keep running; without
		// this the wait would last its whole timeout.
		if err := p.lostPort(); err != nil {
			_ = p.stop(5 * time.Second)
			return err
		}
		select {
		case <-p.done:
			if err := p.lostPort(); err != nil {
				return err
			}
			return fmt.Errorf("%s exited before it was ready (%v); last lines of %s:\n%s", p.name, p.err, p.logPath, p.logTail(30))
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %s: %w (last check: %v); last lines of %s:\n%s", p.name, timeout, ctx.Err(), last, p.logPath, p.logTail(30))
		case <-tick.C:
		}
	}
}

// httpCheck returns a readiness check that wants a 200 from url.
func httpCheck(client *http.Client, url string, header http.Header) func(context.Context) error {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		for k, v := range header {
			req.Header[k] = v
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return nil
	}
}

// errPortTaken marks a start that lost its port to another process between
// freePorts and the server's bind; callers try again on new ports.
var errPortTaken = errors.New("port taken by another process")

// startAttempts bounds how often a server is started on new ports after
// losing one.
const startAttempts = 3

// onFreePorts runs start, which picks its ports and starts a server, again
// while the server loses its port, up to startAttempts times.
func onFreePorts(start func() error) error {
	for attempt := 1; ; attempt++ {
		err := start()
		if err == nil || !errors.Is(err, errPortTaken) || attempt == startAttempts {
			return err
		}
	}
}

// freePorts returns n distinct loopback ports that were free a moment ago.
//
// They come from below the kernel's ephemeral range: a port from the kernel
// (":0") is in that range, where any outgoing connection of any process may
// take it as its local port before the server binds it, and a busy test run
// makes thousands of those (CI lost a Gitea start to one). Below the range
// only another listener can take a port, and the random pick makes two test
// processes choosing the same one in the same moment rare; a loss is still
// detected (errPortTaken) and retried by the caller.
func freePorts(n int) ([]int, error) {
	low, high := portRange()
	// Hold all listeners until every port is chosen so the same port is not
	// handed out twice.
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for tries := 0; len(ports) < n; tries++ {
		if tries == 1000 {
			return nil, fmt.Errorf("find free port: none free in %d-%d after %d tries", low, high, tries)
		}
		port := low + rand.IntN(high-low)
		l, err := net.Listen("tcp", loopbackAddr(port))
		if err != nil {
			continue // in use; pick another
		}
		ls = append(ls, l)
		ports = append(ports, port)
	}
	return ports, nil
}

// portRange is where freePorts picks: from 10000 up to the start of the
// kernel's ephemeral range (Linux's is 32768-60999 unless changed).
func portRange() (low, high int) {
	low, high = 10000, 32768
	data, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return low, high
	}
	fields := strings.Fields(string(data))
	if len(fields) == 2 {
		if first, err := strconv.Atoi(fields[0]); err == nil && first-low >= 1000 {
			high = first
		}
	}
	return low, high
}

func loopbackAddr(port int) string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}
