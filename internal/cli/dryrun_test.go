package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	"sigs.k8s.io/yaml"

	"github.com/pocketidp/pocketidp/internal/doctor/doctortest"
)

// upstreamCharts are the real Traefik and Gitea chart sources the tests
// render (internal/charts/testdata/upstream/README.md).
var upstreamCharts = filepath.Join("..", "charts", "testdata", "upstream")

// docs splits a multi-document YAML stream into its objects by kind/name,
// and the comment-only or non-object documents by their first comment.
func docs(t *testing.T, stream string) (objects map[string][]byte, others map[string][]byte) {
	t.Helper()
	objects, others = map[string][]byte{}, map[string][]byte{}
	rd := utilyaml.NewYAMLReader(bufioReader(stream))
	for {
		doc, err := rd.Read()
		if errors.Is(err, io.EOF) {
			return objects, others
		}
		if err != nil {
			t.Fatal(err)
		}
		var head struct {
			Kind     string `json:"kind"`
			Name     string `json:"name"` // kind's Cluster
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal(doc, &head); err != nil {
			t.Fatalf("a document does not parse: %v\n%s", err, doc)
		}
		if head.Metadata.Name == "" {
			head.Metadata.Name = head.Name
		}
		if head.Kind != "" && head.Metadata.Name != "" {
			objects[head.Kind+"/"+head.Metadata.Name] = doc
			continue
		}
		first, _, _ := strings.Cut(strings.TrimSpace(string(doc)), "\n")
		others[first] = doc
	}
}

func decode(t *testing.T, objects map[string][]byte, key string, into any) {
	t.Helper()
	doc, ok := objects[key]
	if !ok {
		t.Fatalf("no %s among %d objects", key, len(objects))
	}
	if err := yaml.Unmarshal(doc, into); err != nil {
		t.Fatalf("%s: %v", key, err)
	}
}

// TestDryRunYAML prints the whole platform offline and checks, in what it
// prints, what a real run needs (issue 9's points), with nothing created
// and no secret shown.
func TestDryRunYAML(t *testing.T) {
	r, stateDir := run(t, doctortest.Healthy(), humanitecEnv,
		"up", "--dry-run", "-o", "yaml", "--chart-dir", upstreamCharts)
	if r.code != ExitOK {
		t.Fatalf("exit %d\nstderr: %s", r.code, r.stderr)
	}
	if _, err := os.Stat(stateDir); !os.IsNotExist(err) {
		t.Errorf("state dir exists after a dry run (%v)", err)
	}
	if strings.Contains(r.stdout+r.stderr, "hum-secret-token") {
		t.Error("the Humanitec token was printed")
	}
	objects, others := docs(t, r.stdout)

	var kind v1alpha4.Cluster
	decode(t, objects, "Cluster/5min-idp", &kind)
	if !slices.ContainsFunc(kind.Nodes[0].ExtraPortMappings, func(m v1alpha4.PortMapping) bool {
		return m.HostPort == 5001 && m.ContainerPort == 5001 && m.ListenAddress == "127.0.0.1"
	}) {
		t.Errorf("kind config publishes no registry port 5001: %+v", kind.Nodes[0].ExtraPortMappings)
	}

	var reg appsv1.Deployment
	decode(t, objects, "Deployment/registry", &reg)
	var debug string
	for _, e := range reg.Spec.Template.Spec.Containers[0].Env {
		if e.Name == "REGISTRY_HTTP_DEBUG_ADDR" {
			debug = e.Value
		}
	}
	if debug == "" || strings.HasSuffix(debug, ":5001") {
		t.Errorf("registry debug address %q clashes with its port", debug)
	}

	var runner appsv1.StatefulSet
	decode(t, objects, "StatefulSet/runner", &runner)
	if !slices.ContainsFunc(runner.Spec.Template.Spec.InitContainers, func(c corev1.Container) bool {
		return c.Name == "forward-ingress" && c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
	}) {
		t.Error("the runner has no loopback forwarder to the ingress for CI jobs")
	}

	var gitea appsv1.Deployment
	decode(t, objects, "Deployment/gitea", &gitea)
	if gitea.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		t.Errorf("Gitea strategy %s, want Recreate", gitea.Spec.Strategy.Type)
	}
	var ing networkingv1.Ingress
	decode(t, objects, "Ingress/gitea", &ing)
	if ing.Spec.IngressClassName == nil || *ing.Spec.IngressClassName != "traefik" {
		t.Errorf("Gitea's Ingress class %v, want traefik", ing.Spec.IngressClassName)
	}

	var traefik corev1.Service
	decode(t, objects, "Service/traefik", &traefik)
	if !slices.ContainsFunc(traefik.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == "websecure" && p.NodePort == 30443 }) {
		t.Errorf("Traefik's websecure is not on node port 30443: %+v", traefik.Spec.Ports)
	}

	// Secrets are listed by key, never by value.
	var admin corev1.Secret
	decode(t, objects, "Secret/gitea-admin", &admin)
	if admin.StringData["password"] != "[redacted]" {
		t.Errorf("gitea-admin password shown as %q", admin.StringData["password"])
	}

	var coredns, humanitec []byte
	for first, d := range others {
		switch {
		case strings.Contains(first, "Corefile"):
			coredns = d
		case strings.HasPrefix(first, "# humanitec:"):
			humanitec = d
		}
	}
	if !bytes.Contains(coredns, []byte("rewrite stop name exact git.localhost")) {
		t.Errorf("no CoreDNS block shown:\n%s", coredns)
	}
	var reg2 struct {
		Definitions []struct {
			ID, Type string
		} `json:"definitions"`
	}
	if err := yaml.Unmarshal(humanitec, &reg2); err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, d := range reg2.Definitions {
		types = append(types, d.Type)
	}
	for _, want := range []string{"ingress", "mysql", "postgres", "k8s-cluster"} {
		if !slices.Contains(types, want) {
			t.Errorf("no %s definition among %v", want, types)
		}
	}
}

// TestDryRunPlan shows the plan without Humanitec variables: the local
// orchestrator's steps and objects, and the registration with it, said so.
func TestDryRunPlan(t *testing.T) {
	r, stateDir := run(t, doctortest.Healthy(), nil, "up", "--dry-run", "--chart-dir", upstreamCharts)
	if r.code != ExitOK {
		t.Fatalf("exit %d\nstderr: %s", r.code, r.stderr)
	}
	for _, want := range []string{"nothing was created", "charts/runner", "after gitea/runner-token, charts/registry",
		"release gitea/gitea", "installs PocketIDP's local orchestrator", "pocketidp up --dry-run -o yaml",
		"orchestrator/install        after cluster, tls, orchestrator/credentials, orchestrator/image",
		"humanitec/env-type          after orchestrator/ready", "orchestrator: Deployment orchestrator", "local orchestrator: what org 5min-local-xxxx gets"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("plan does not say %q:\n%s", want, r.stdout)
		}
	}
	for _, not := range []string{"humanitec/check", "charts/agent"} {
		if strings.Contains(r.stdout, not) {
			t.Errorf("the local orchestrator's plan has %s:\n%s", not, r.stdout)
		}
	}
	if _, err := os.Stat(stateDir); !os.IsNotExist(err) {
		t.Errorf("state dir exists after a dry run (%v)", err)
	}

	r, _ = run(t, doctortest.Healthy(), nil, "up", "--dry-run", "-o", "json", "--skip-humanitec", "--chart-dir", upstreamCharts)
	var out struct {
		DryRun    bool `json:"dry_run"`
		Steps     []struct{ Name string }
		Documents []struct{ Source string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || !out.DryRun || len(out.Steps) == 0 || len(out.Documents) == 0 {
		t.Errorf("dry run JSON: %v %+v\n%s", err, out, r.stdout)
	}
	// --skip-humanitec leaves any orchestrator out.
	for _, st := range out.Steps {
		if strings.HasPrefix(st.Name, "orchestrator/") || strings.HasPrefix(st.Name, "humanitec/") {
			t.Errorf("--skip-humanitec plan has %s", st.Name)
		}
	}
}

func bufioReader(s string) *bufio.Reader { return bufio.NewReader(strings.NewReader(s)) }
