//go:build e2e

package cluster_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/pocketidp/pocketidp/internal/cluster"
	"github.com/pocketidp/pocketidp/internal/doctor"
	"github.com/pocketidp/pocketidp/internal/report"
	"github.com/pocketidp/pocketidp/internal/testenv"
)

// testWriter sends log lines to t.Log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// TestKindEndToEnd creates a real kind cluster on this machine's Docker or
// Podman (KIND_EXPERIMENTAL_PROVIDER honoured), checks that its API server
// answers and its node is Ready, adopts it as a re-run would, and deletes
// it. It uses its own cluster name, a free host port and a temporary
// kubeconfig, so it never touches the user's clusters or contexts. Run it
// with `make e2e` (go test -tags e2e -timeout 30m ./internal/cluster/).
func TestKindEndToEnd(t *testing.T) {
	ctx := context.Background()
	host := doctor.System{}
	e, err := doctor.DetectEngine(ctx, host)
	if err != nil {
		if testenv.InCI() {
			t.Fatalf("e2e needs a container engine: %v", err)
		}
		t.Skipf("no container engine here: %v", err)
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, nil))
	ctx = report.With(ctx, report.Reporter{Log: log, Progress: func(c, total int, msg string) {
		t.Logf("progress %d/%d %s", c, total, msg)
	}})
	eng, err := cluster.NewKindEngine(ctx, e.Name, host.Output)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	suffix := make([]byte, 3)
	_, _ = rand.Read(suffix)
	dir := t.TempDir()
	k := &cluster.Kind{
		Engine:       eng,
		Config:       cluster.Config{Name: "pocketidp-e2e-" + hex.EncodeToString(suffix), Port: port, ListenAddress: "127.0.0.1", Provider: e.Name},
		StateDir:     filepath.Join(dir, "state"),
		ExportPath:   filepath.Join(dir, "kubeconfig"),
		ReadyTimeout: 5 * time.Minute,
	}
	t.Cleanup(func() {
		if err := k.Delete(context.Background()); err != nil {
			t.Errorf("delete %s: %v (remove it with: kind delete cluster --name %s)", k.Config.Name, err, k.Config.Name)
		}
	})

	start := time.Now()
	acc, err := k.Create(ctx)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	t.Logf("cluster %s created and Ready in %s", k.Config.Name, time.Since(start).Round(time.Second))

	cs, err := kubernetes.NewForConfig(acc.RESTConfig)
	if err != nil {
		t.Fatal(err)
	}
	v, err := cs.Discovery().ServerVersion()
	if err != nil {
		t.Fatalf("API server does not answer: %v", err)
	}
	if !strings.HasPrefix(v.GitVersion, "v1.37.") {
		t.Errorf("server version %s, want the pinned node image's v1.37", v.GitVersion)
	}
	node, err := eng.Inspect(ctx, k.Config.NodeName())
	if err != nil {
		t.Fatal(err)
	}
	if got := node.Ports[cluster.IngressHTTPSNodePort]; len(got) != 1 || got[0].Port != port {
		t.Errorf("ingress port published on %v, want 127.0.0.1:%d", got, port)
	}

	// A re-run finds it as wanted and adopts it without change.
	if _, why, err := k.Check(ctx); err != nil || why != "" {
		t.Fatalf("check after create: %q %v", why, err)
	}
	if _, err := k.Adopt(ctx); err != nil {
		t.Fatalf("adopt: %v", err)
	}

	if err := k.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, err := k.Exists(ctx); err != nil || ok {
		t.Errorf("after delete: exists %v, %v", ok, err)
	}
}
