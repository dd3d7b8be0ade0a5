package testenv

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestWaitReadyPortTaken: a server that logs a lost bind and keeps running,
// as Gitea does, ends the wait at once with errPortTaken and is stopped;
// one that exits for another reason is not mistaken for it.
func TestWaitReadyPortTaken(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatalf("sh: %v", err)
	}
	tests := []struct {
		name     string
		script   string
		wantPort bool
	}{
		{"logs a lost bind and stays", `echo "listen tcp 127.0.0.1:1: bind: address already in use"; exec sleep 60`, true},
		{"exits after a lost bind", `echo "listen tcp 127.0.0.1:1: bind: address already in use"; exit 1`, true},
		{"exits for another reason", `echo "bad flag"; exit 1`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log := filepath.Join(t.TempDir(), "server.log")
			p, err := startProcess("server", log, nil, sh, "-c", tt.script)
			if err != nil {
				t.Fatal(err)
			}
			defer p.stop(time.Second)
			notReady := func(context.Context) error { return errors.New("not yet") }
			began := time.Now()
			err = waitReady(context.Background(), p, 30*time.Second, notReady)
			if err == nil {
				t.Fatal("waitReady succeeded with a check that always fails")
			}
			if got := errors.Is(err, errPortTaken); got != tt.wantPort {
				t.Errorf("errors.Is(err, errPortTaken) = %v, want %v; err: %v", got, tt.wantPort, err)
			}
			if waited := time.Since(began); waited > 10*time.Second {
				t.Errorf("waited %s: the loss should end the wait at once", waited)
			}
			select {
			case <-p.done:
			case <-time.After(10 * time.Second):
				t.Error("the server is still running after waitReady gave up")
			}
		})
	}
}

// TestFreePorts: the ports are distinct, free and below the kernel's
// ephemeral range, where no outgoing connection can take them.
func TestFreePorts(t *testing.T) {
	low, high := portRange()
	ports, err := freePorts(20)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if p < low || p >= high {
			t.Errorf("port %d outside %d-%d", p, low, high)
		}
		if seen[p] {
			t.Errorf("port %d handed out twice", p)
		}
		seen[p] = true
	}
}
