package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
)

// One API server and one Gitea per test binary, each started on first use:
// tests that use unique namespaces and repository names do not need their
// own, and a start costs seconds.
var shared struct {
	clusterOnce sync.Once
	cluster     *Cluster
	clusterErr  error

	giteaOnce sync.Once
	gitea     *GiteaServer
	giteaErr  error
}

// SharedAPIServer returns the test binary's shared API server, starting it on
// first use. Give each test its own namespace (see Cluster.Namespace). The
// package's TestMain must call Main so the server is stopped at the end;
// without it, on Linux the kernel still kills the servers when the test
// binary exits, but their temporary folder stays behind.
func SharedAPIServer(t testing.TB) *Cluster {
	t.Helper()
	bin := RequireBinaries(t)
	started := false
	shared.clusterOnce.Do(func() {
		started = true
		shared.cluster, shared.clusterErr = StartAPIServer(context.Background(), APIServerOptions{Binaries: bin})
	})
	if shared.clusterErr != nil {
		t.Fatalf("testenv: shared API server: %v", shared.clusterErr)
	}
	if started {
		shared.cluster.logTimes(t)
	}
	return shared.cluster
}

// SharedGitea returns the test binary's shared Gitea, starting it on first
// use; see SharedAPIServer. Tests must not stop it (use Gitea for fault
// tests) and should name what they create with UniqueName.
func SharedGitea(t testing.TB) *GiteaServer {
	t.Helper()
	bin := RequireBinaries(t)
	started := false
	shared.giteaOnce.Do(func() {
		started = true
		shared.gitea, shared.giteaErr = StartGitea(context.Background(), GiteaOptions{Binaries: bin})
	})
	if shared.giteaErr != nil {
		t.Fatalf("testenv: shared Gitea: %v", shared.giteaErr)
	}
	if started {
		shared.gitea.logTimes(t)
	}
	return shared.gitea
}

// Main runs the tests and then stops the shared servers:
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	if err := stopShared(); err != nil {
		fmt.Fprintf(os.Stderr, "testenv: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

func stopShared() error {
	var errs []error
	if shared.cluster != nil {
		errs = append(errs, shared.cluster.Stop())
	}
	if shared.gitea != nil {
		errs = append(errs, shared.gitea.Close())
	}
	return errors.Join(errs...)
}
