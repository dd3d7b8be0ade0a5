package humanitec

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/pocketidp/pocketidp/internal/secret"
)

// ClusterData is the local cluster as Humanitec's agent, running inside it,
// reaches it: the cluster's internal kubeconfig (for kind,
// `kind get kubeconfig --internal`: server https://<name>-control-plane:6443).
// It goes into the k8s-cluster resource definition.
type ClusterData struct {
	// Server is the API server URL.
	Server string
	// CAData is the cluster CA certificate, PEM.
	CAData []byte
	// ClientCertData and ClientKey are the client certificate (PEM) and
	// its key; Token is the alternative for token-based users.
	ClientCertData []byte
	ClientKey      secret.Value
	Token          secret.Value
}

// Validate reports cluster data the definition cannot work with.
func (d ClusterData) Validate() error {
	if d.Server == "" {
		return errors.New("cluster data has no API server URL")
	}
	if d.Token.Empty() && (len(d.ClientCertData) == 0 || d.ClientKey.Empty()) {
		return errors.New("cluster data has neither a client certificate and key nor a token")
	}
	return nil
}

// clusterData is the definition's values.cluster_data: the kubeconfig's
// cluster entry, with its field names.
func (d ClusterData) clusterData() map[string]any {
	m := map[string]any{"server": d.Server}
	if len(d.CAData) > 0 {
		m["certificate-authority-data"] = base64.StdEncoding.EncodeToString(d.CAData)
	}
	return m
}

// credentials is the definition's secrets.credentials: the kubeconfig's user
// entry. The key stays a secret.Value until the request is sent.
func (d ClusterData) credentials() map[string]any {
	m := map[string]any{}
	if len(d.ClientCertData) > 0 {
		m["client-certificate-data"] = base64.StdEncoding.EncodeToString(d.ClientCertData)
	}
	if !d.ClientKey.Empty() {
		// secret.New trims the PEM's final newline; put it back so the
		// data is the file it came from.
		m["client-key-data"] = secret.New(base64.StdEncoding.EncodeToString([]byte(d.ClientKey.Reveal() + "\n")))
	}
	if !d.Token.Empty() {
		m["token"] = d.Token
	}
	return m
}

// ClusterDataFromKubeconfig reads the cluster data from a kubeconfig: the
// given context, or the current one when contextName is empty. Files the
// kubeconfig refers to (certificate-authority, client-key) are read in.
func ClusterDataFromKubeconfig(kubeconfig []byte, contextName string) (ClusterData, error) {
	cfg, err := clientcmd.Load(kubeconfig)
	if err != nil {
		return ClusterData{}, fmt.Errorf("read kubeconfig: %w", err)
	}
	rc, err := clientcmd.NewNonInteractiveClientConfig(*cfg, contextName, &clientcmd.ConfigOverrides{}, nil).ClientConfig()
	if err != nil {
		return ClusterData{}, fmt.Errorf("kubeconfig context %q: %w", contextName, err)
	}
	// Certificates given as file paths are read in: the agent runs
	// elsewhere and gets the data itself.
	if err := rest.LoadTLSFiles(rc); err != nil {
		return ClusterData{}, fmt.Errorf("kubeconfig context %q: %w", contextName, err)
	}
	d := ClusterData{Server: rc.Host, CAData: rc.CAData, ClientCertData: rc.CertData}
	if len(rc.KeyData) > 0 {
		d.ClientKey = secret.New(string(rc.KeyData))
	}
	if rc.BearerToken != "" {
		d.Token = secret.New(rc.BearerToken)
	}
	if err := d.Validate(); err != nil {
		return ClusterData{}, err
	}
	return d, nil
}

// InClusterAPIServer is the API server as every pod reaches it: the
// kubernetes Service, whose name every API server's serving certificate
// holds.
const InClusterAPIServer = "https://kubernetes.default.svc"

// InClusterServer is server as a pod inside the cluster reaches it. A
// kubeconfig made for the host often points at the host's loopback (Docker
// Desktop, k3d, minikube with the docker driver: https://127.0.0.1:<port>)
// or at a name only the host resolves (Docker Desktop's
// kubernetes.docker.internal); from a pod, loopback is the pod itself.
// Those become the kubernetes Service; any other address is kept as it is.
func InClusterServer(server string) string {
	u, err := url.Parse(server)
	if err != nil || u.Host == "" {
		return server
	}
	host := u.Hostname()
	if host == "localhost" || host == "kubernetes.docker.internal" || strings.HasSuffix(host, ".localhost") {
		return InClusterAPIServer
	}
	if ip := net.ParseIP(host); ip != nil && (ip.IsLoopback() || ip.IsUnspecified()) {
		return InClusterAPIServer
	}
	return server
}
