package humanitec

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAgentKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", AgentKeyFile)
	if err := WriteAgentKey(path, agentTestKey(t)); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	k, created, err := EnsureAgentKey(path)
	if err != nil || created {
		t.Fatalf("EnsureAgentKey on an existing key: created=%v err=%v", created, err)
	}
	blk, _ := pem.Decode([]byte(k.PublicPEM))
	if blk == nil || blk.Type != "PUBLIC KEY" {
		t.Fatalf("public key is not a PUBLIC KEY PEM: %q", k.PublicPEM)
	}
	pub, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil || pub.(*rsa.PublicKey).N.BitLen() != AgentKeyBits {
		t.Errorf("public key: %v", err)
	}
	if len(k.Fingerprint) != 64 {
		t.Errorf("fingerprint %q is not hex SHA-256", k.Fingerprint)
	}
	if strings.Contains(k.PrivatePEM.String(), "PRIVATE") {
		t.Error("the private key prints")
	}

	vals := AgentChartValues("my-org", k)
	h := vals["humanitec"].(map[string]any)
	if h["org"] != "my-org" || !strings.HasPrefix(h["privateKey"].(string), "-----BEGIN RSA PRIVATE KEY-----") {
		t.Errorf("chart values = %v", vals)
	}
	if err := RemoveAgentKey(path); err != nil {
		t.Fatal(err)
	}
	if err := RemoveAgentKey(path); err != nil {
		t.Errorf("removing a missing key: %v", err)
	}
}

func TestAgentKeyRejectsWhatTheAPIWouldRefuse(t *testing.T) {
	dir := t.TempDir()
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	smallPath := filepath.Join(dir, "small.key")
	if err := WriteAgentKey(smallPath, small); err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(dir, "garbage.key")
	if err := os.WriteFile(garbage, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{smallPath: "1024 bits", garbage: "not an RSA PRIVATE KEY"} {
		if _, _, err := EnsureAgentKey(path); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("EnsureAgentKey(%s) = %v, want an error with %q", filepath.Base(path), err, want)
		}
	}
}

func TestClusterDataFromKubeconfig(t *testing.T) {
	ca := []byte("-----BEGIN CERTIFICATE-----\nQ0E=\n-----END CERTIFICATE-----\n")
	cert := []byte("-----BEGIN CERTIFICATE-----\nY2VydA==\n-----END CERTIFICATE-----\n")
	key := []byte("-----BEGIN RSA PRIVATE KEY-----\na2V5\n-----END RSA PRIVATE KEY-----\n")
	b64 := base64.StdEncoding.EncodeToString
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(caFile, ca, 0o600); err != nil {
		t.Fatal(err)
	}
	kubeconfig := `apiVersion: v1
kind: Config
current-context: kind-5min-idp
clusters:
- name: kind-5min-idp
  cluster:
    server: https://5min-idp-control-plane:6443
    certificate-authority-data: ` + b64(ca) + `
- name: other
  cluster:
    server: https://other:6443
    certificate-authority: ` + caFile + `
users:
- name: kind-5min-idp
  user:
    client-certificate-data: ` + b64(cert) + `
    client-key-data: ` + b64(key) + `
- name: other
  user:
    token: t0ken
contexts:
- name: kind-5min-idp
  context: {cluster: kind-5min-idp, user: kind-5min-idp}
- name: other
  context: {cluster: other, user: other}
`
	d, err := ClusterDataFromKubeconfig([]byte(kubeconfig), "")
	if err != nil {
		t.Fatal(err)
	}
	if d.Server != "https://5min-idp-control-plane:6443" || string(d.CAData) != string(ca) || string(d.ClientCertData) != string(cert) {
		t.Errorf("cluster data = %+v", d)
	}
	creds := d.credentials()
	if got := creds["client-key-data"]; reveal(got) != b64(key) {
		t.Errorf("client-key-data = %v, want the key file's base64", reveal(got))
	}
	if d.clusterData()["certificate-authority-data"] != b64(ca) {
		t.Errorf("cluster_data = %v", d.clusterData())
	}

	o, err := ClusterDataFromKubeconfig([]byte(kubeconfig), "other")
	if err != nil {
		t.Fatal(err)
	}
	if string(o.CAData) != string(ca) || o.Token.Reveal() != "t0ken" {
		t.Errorf("file-based CA or token not read: %+v", o)
	}
	if _, err := ClusterDataFromKubeconfig([]byte(kubeconfig), "missing"); err == nil {
		t.Error("unknown context accepted")
	}
}

func TestInClusterServer(t *testing.T) {
	for _, tc := range []struct{ server, want string }{
		{"https://127.0.0.1:6443", InClusterAPIServer},                  // k3d, minikube (docker driver)
		{"https://127.0.0.1:58231", InClusterAPIServer},                 // kind's host kubeconfig
		{"https://[::1]:6443", InClusterAPIServer},                      // loopback, IPv6
		{"https://localhost:6443", InClusterAPIServer},                  // by name
		{"https://kubernetes.docker.internal:6443", InClusterAPIServer}, // Docker Desktop
		{"https://0.0.0.0:6443", InClusterAPIServer},
		{"https://5min-idp-control-plane:6443", "https://5min-idp-control-plane:6443"},
		{"https://10.0.0.5:6443", "https://10.0.0.5:6443"},
		{"https://my-aks.hcp.westeurope.azmk8s.io:443", "https://my-aks.hcp.westeurope.azmk8s.io:443"},
	} {
		if got := InClusterServer(tc.server); got != tc.want {
			t.Errorf("InClusterServer(%q) = %q, want %q", tc.server, got, tc.want)
		}
	}
}
