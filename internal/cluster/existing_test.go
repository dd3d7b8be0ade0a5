package cluster_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/pocketidp/pocketidp/internal/cluster"
	"github.com/pocketidp/pocketidp/internal/cluster/clustertest"
	"github.com/pocketidp/pocketidp/internal/config"
	"github.com/pocketidp/pocketidp/internal/testenv"
)

func writeKubeconfig(t *testing.T, cfg *clientcmdapi.Config) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestExisting(t *testing.T) {
	api := testenv.SharedAPIServer(t)
	ctx := context.Background()

	acc, err := cluster.Existing(ctx, api.KubeconfigPath, testenv.KubeContext)
	if err != nil {
		t.Fatal(err)
	}
	if acc.Kind || acc.Context != testenv.KubeContext || acc.KubeconfigPath != api.KubeconfigPath || acc.RESTConfig.Host != api.URL {
		t.Errorf("access = %+v", acc)
	}
	acc.DetectIngress(ctx, nil, 8443)
	want := "`kubectl --kubeconfig " + api.KubeconfigPath + " --context testenv port-forward -n traefik svc/traefik 8443:websecure`"
	if acc.IngressAddr != "" || !strings.Contains(acc.IngressHint, want) || !strings.Contains(acc.IngressHint, "https://git.localhost:8443") {
		t.Errorf("ingress = %q, hint %q; want the port-forward %s", acc.IngressAddr, acc.IngressHint, want)
	}

	// Without flags: the default loading rules, and the current context is
	// pinned now.
	t.Setenv("KUBECONFIG", api.KubeconfigPath)
	acc, err = cluster.Existing(ctx, "", "")
	if err != nil || acc.Context != testenv.KubeContext || acc.KubeconfigPath != "" {
		t.Fatalf("Existing with defaults = %+v, %v", acc, err)
	}
}

func TestExistingBadInput(t *testing.T) {
	api := testenv.SharedAPIServer(t)
	good, err := clientcmd.LoadFromFile(api.KubeconfigPath)
	if err != nil {
		t.Fatal(err)
	}
	noCurrent := good.DeepCopy()
	noCurrent.CurrentContext = ""
	badToken := good.DeepCopy()
	badToken.AuthInfos[testenv.KubeContext].Token = "wrong"
	closed := good.DeepCopy()
	closed.Clusters[testenv.KubeContext].Server = "https://127.0.0.1:1"

	tests := []struct {
		name, path, context string
		wantMsg, wantHint   string
	}{
		{"missing file", filepath.Join(t.TempDir(), "nope"), "", "cannot be read", "pass --kubeconfig with the path of an existing kubeconfig"},
		{"unknown context", api.KubeconfigPath, "prod", `context "prod" is not in`, "pass --context with one of: testenv"},
		{"no current context", writeKubeconfig(t, noCurrent), "", "has no current context", "pass --context with one of: testenv"},
		{"wrong token", writeKubeconfig(t, badToken), "", "rejects the credentials", "renew the credentials"},
		{"nothing listens", writeKubeconfig(t, closed), testenv.KubeContext, "does not answer", "get --raw /version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := cluster.Existing(context.Background(), tt.path, tt.context)
			var ie *config.InputError
			if !errors.As(err, &ie) {
				t.Fatalf("Existing = %v, want *config.InputError", err)
			}
			if !strings.Contains(ie.Msg, tt.wantMsg) || !strings.Contains(ie.Hint, tt.wantHint) {
				t.Errorf("error = %q (fix %q), want %q and fix %q", ie.Msg, ie.Hint, tt.wantMsg, tt.wantHint)
			}
		})
	}
}

// An existing kind cluster (context kind-<name>) may publish the ingress
// port; any other cluster gets the port-forward hint.
func TestDetectIngress(t *testing.T) {
	eng := &clustertest.Engine{}
	eng.AddCluster("mine", cluster.Container{Running: true, Ports: map[int][]cluster.HostPort{30443: {{IP: "127.0.0.1", Port: 9443}}}})
	eng.AddCluster("plain", cluster.Container{Running: true})
	tests := []struct {
		context, wantAddr, wantHint string
	}{
		{"kind-mine", "127.0.0.1:9443", "pass --port 9443"},
		{"kind-plain", "", "port-forward -n traefik svc/traefik 8443:websecure"},
		{"kind-gone", "", "port-forward"},
		{"gke_prod", "", "--context gke_prod port-forward"},
	}
	for _, tt := range tests {
		acc := &cluster.Access{Context: tt.context}
		acc.DetectIngress(context.Background(), eng, 8443)
		if acc.IngressAddr != tt.wantAddr || !strings.Contains(acc.IngressHint, tt.wantHint) {
			t.Errorf("%s: addr %q hint %q, want %q and %q", tt.context, acc.IngressAddr, acc.IngressHint, tt.wantAddr, tt.wantHint)
		}
	}
	acc := &cluster.Access{Context: "kind-mine"}
	acc.DetectIngress(context.Background(), eng, 9443)
	if acc.IngressAddr != "127.0.0.1:9443" || acc.IngressHint != "" {
		t.Errorf("matching port: addr %q hint %q, want no hint", acc.IngressAddr, acc.IngressHint)
	}
}
