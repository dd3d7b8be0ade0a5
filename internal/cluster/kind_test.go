package cluster_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/pocketidp/pocketidp/internal/cluster"
	"github.com/pocketidp/pocketidp/internal/cluster/clustertest"
	"github.com/pocketidp/pocketidp/internal/config"
	"github.com/pocketidp/pocketidp/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func newKind(t *testing.T, eng cluster.Engine) *cluster.Kind {
	t.Helper()
	dir := t.TempDir()
	return &cluster.Kind{
		Engine:       eng,
		Config:       cluster.Config{Name: "5min-idp", Port: 8443, ListenAddress: "127.0.0.1", Provider: "docker"},
		StateDir:     filepath.Join(dir, "state"),
		ExportPath:   filepath.Join(dir, "user-kubeconfig"),
		ReadyTimeout: 3 * time.Second,
	}
}

// setNode registers the node with the API server and sets its Ready
// condition, standing in for the kubelet the test bed does not run.
func setNode(t *testing.T, cs kubernetes.Interface, name string, ready corev1.ConditionStatus, reason string) {
	t.Helper()
	ctx := context.Background()
	n, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		n, err = cs.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
	}
	n.Status.Conditions = []corev1.NodeCondition{{
		Type: corev1.NodeReady, Status: ready, Reason: reason, Message: "kubelet says " + reason,
		LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now(),
	}}
	if _, err := cs.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func hasContext(t *testing.T, path, name string) bool {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(path)
	if err != nil {
		return false
	}
	_, ok := cfg.Contexts[name]
	return ok
}

// The kind cluster's whole life, with a fake engine in front of a real API
// server: create, wait for the node with client-go, check, adopt a stopped
// node, refuse a changed port, delete.
func TestKindLifecycle(t *testing.T) {
	api := testenv.SharedAPIServer(t)
	cs, err := api.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	server, err := clientcmd.LoadFromFile(api.KubeconfigPath)
	if err != nil {
		t.Fatal(err)
	}
	eng := &clustertest.Engine{Server: server}
	k := newKind(t, eng)
	ctx := context.Background()
	// Nodes are cluster-wide on the shared server: start without ours.
	deleteNode := func() { _ = cs.CoreV1().Nodes().Delete(ctx, "5min-idp-control-plane", metav1.DeleteOptions{}) }
	deleteNode()
	t.Cleanup(deleteNode)

	if _, why, err := k.Check(ctx); err != nil || !strings.Contains(why, "does not exist") {
		t.Fatalf("Check before create = %q, %v; want 'does not exist'", why, err)
	}

	// kind reports success while no node has registered yet: the client-go
	// wait must not.
	_, err = k.Create(ctx)
	if err == nil || !strings.Contains(err.Error(), "gave up after 3s waiting for a node to register") {
		t.Fatalf("Create without a node = %v, want a named timeout", err)
	}
	if !strings.Contains(string(eng.Config("5min-idp")), "hostPort: 8443") {
		t.Errorf("kind was not given the rendered config:\n%s", eng.Config("5min-idp"))
	}

	setNode(t, cs, "5min-idp-control-plane", corev1.ConditionFalse, "KubeletNotReady")
	_, err = k.Adopt(ctx)
	if err == nil || !strings.Contains(err.Error(), "node 5min-idp-control-plane to be Ready (KubeletNotReady: kubelet says KubeletNotReady)") {
		t.Fatalf("Adopt with a NotReady node = %v, want the node and its reason", err)
	}

	setNode(t, cs, "5min-idp-control-plane", corev1.ConditionTrue, "KubeletReady")
	acc, err := k.Adopt(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !acc.Kind || acc.Context != "kind-5min-idp" || acc.IngressAddr != "127.0.0.1:8443" || acc.IngressHint != "" {
		t.Errorf("access = %+v", acc)
	}
	if acc.RESTConfig.Host != api.URL {
		t.Errorf("REST config host = %s, want %s", acc.RESTConfig.Host, api.URL)
	}
	fi, err := os.Stat(acc.KubeconfigPath)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("private kubeconfig %s: %v %v, want mode 0600", acc.KubeconfigPath, fi, err)
	}
	if !hasContext(t, acc.KubeconfigPath, "kind-5min-idp") || !hasContext(t, k.ExportPath, "kind-5min-idp") {
		t.Error("context kind-5min-idp missing from the private or the exported kubeconfig")
	}
	if got, why, err := k.Check(ctx); err != nil || why != "" || got == nil {
		t.Fatalf("Check on a ready cluster = %v, %q, %v", got, why, err)
	}

	// After a reboot kind's node container is stopped.
	eng.StopNode("5min-idp-control-plane")
	if _, why, _ := k.Check(ctx); !strings.Contains(why, "stopped") {
		t.Errorf("Check with a stopped node = %q", why)
	}
	if _, err := k.Adopt(ctx); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(eng.Calls(), "Start 5min-idp-control-plane") {
		t.Errorf("Adopt did not start the stopped node: %v", eng.Calls())
	}

	// The user lost the context (kubectl config delete-context): re-exported.
	if err := os.Remove(k.ExportPath); err != nil {
		t.Fatal(err)
	}
	if _, why, _ := k.Check(ctx); !strings.Contains(why, "not in the user's kubeconfig") {
		t.Errorf("Check without the user's context = %q", why)
	}
	if _, err := k.Adopt(ctx); err != nil || !hasContext(t, k.ExportPath, "kind-5min-idp") {
		t.Fatalf("Adopt did not re-export the context: %v", err)
	}

	// Another port cannot be applied to a running cluster.
	other := *k
	other.Config.Port = 9443
	_, err = other.Adopt(ctx)
	var ie *config.InputError
	if !errors.As(err, &ie) || !strings.Contains(ie.Msg, "publishes the ingress port 30443 on 127.0.0.1:8443, but this install asks for 127.0.0.1:9443") ||
		!strings.Contains(ie.Hint, "pocketidp down") {
		t.Fatalf("Adopt with another port = %v, want an input error naming both addresses and the fix", err)
	}
	if _, why, _ := other.Check(ctx); !strings.Contains(why, "9443") {
		t.Errorf("Check with another port = %q", why)
	}

	if err := k.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, _ := k.Exists(ctx); ok {
		t.Error("cluster still exists after Delete")
	}
	if _, err := os.Stat(acc.KubeconfigPath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("private kubeconfig not removed: %v", err)
	}
	if hasContext(t, k.ExportPath, "kind-5min-idp") {
		t.Error("context kind-5min-idp left in the user's kubeconfig")
	}
	if err := k.Delete(ctx); err != nil {
		t.Errorf("Delete of a deleted cluster = %v, want success", err)
	}
	if _, err := k.Access(ctx); !errors.Is(err, cluster.ErrNotFound) {
		t.Errorf("Access after Delete = %v, want ErrNotFound", err)
	}
}

func TestKindCreateErrors(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		wantMsg  string
		wantHint string
		input    bool
	}{
		{"port taken", errors.New("command \"docker run ...\" failed: Bind for 127.0.0.1:8443 failed: port is already allocated"),
			"host port 8443 on 127.0.0.1 is taken", "--port", true},
		{"address in use", errors.New("listen tcp 127.0.0.1:8443: bind: address already in use"),
			"host port 8443 on 127.0.0.1 is taken", "--port", true},
		{"image pull", errors.New("failed to pull image"), "create kind cluster 5min-idp with docker: failed to pull image", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eng := &clustertest.Engine{Err: map[string]error{"Create": tt.err}}
			k := newKind(t, eng)
			_, err := k.Create(context.Background())
			if err == nil || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("Create = %v, want %q", err, tt.wantMsg)
			}
			if config.IsInput(err) != tt.input {
				t.Errorf("IsInput = %v, want %v", config.IsInput(err), tt.input)
			}
			if tt.input && !strings.Contains(err.Error(), tt.wantHint) {
				t.Errorf("error %v does not name %s", err, tt.wantHint)
			}
			if _, err := os.Stat(k.KubeconfigPath()); !errors.Is(err, os.ErrNotExist) {
				t.Error("a kubeconfig was written for a cluster that was not created")
			}
		})
	}
}

func TestKindEngineErrors(t *testing.T) {
	eng := &clustertest.Engine{Err: map[string]error{"Clusters": errors.New("Cannot connect to the Docker daemon")}}
	k := newKind(t, eng)
	_, err := k.Exists(context.Background())
	if err == nil || !strings.Contains(err.Error(), "list kind clusters with docker: Cannot connect to the Docker daemon") {
		t.Errorf("Exists = %v", err)
	}
	if _, _, err := k.Check(context.Background()); err == nil {
		t.Error("Check hid an engine failure")
	}
}
