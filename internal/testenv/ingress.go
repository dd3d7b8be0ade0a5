package testenv

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Ingress plays Traefik where no pods run: HTTPS on loopback with the
// certificate of a kubernetes.io/tls Secret, read at every handshake (as
// Traefik reloads the Secret when it changes), routing by Host; a host
// without a route gets Traefik's 404.
type Ingress struct {
	// Port is the loopback port it listens on: the ingress port to give
	// the product.
	Port int

	srv    *httptest.Server
	mu     sync.Mutex
	routes map[string]http.Handler
	hosts  []string
}

// StartIngress serves the Secret namespace/name until the test ends.
func StartIngress(t testing.TB, cs kubernetes.Interface, namespace, name string) *Ingress {
	t.Helper()
	ing := &Ingress{routes: map[string]http.Handler{}}
	ing.srv = httptest.NewUnstartedServer(http.HandlerFunc(ing.serve))
	ing.srv.TLS = &tls.Config{GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
		s, err := cs.CoreV1().Secrets(namespace).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		c, err := tls.X509KeyPair(s.Data["tls.crt"], s.Data["tls.key"])
		return &c, err
	}}
	ing.srv.StartTLS()
	t.Cleanup(ing.srv.Close)
	ing.Port = ing.srv.Listener.Addr().(*net.TCPAddr).Port
	return ing
}

// Route sends requests for host to h.
func (ing *Ingress) Route(host string, h http.Handler) {
	ing.mu.Lock()
	defer ing.mu.Unlock()
	ing.routes[host] = h
}

// Hosts lists the Host of every request so far, in order.
func (ing *Ingress) Hosts() []string {
	ing.mu.Lock()
	defer ing.mu.Unlock()
	return append([]string(nil), ing.hosts...)
}

// Addr is the listener's address, for dialling it directly.
func (ing *Ingress) Addr() string { return ing.srv.Listener.Addr().String() }

func (ing *Ingress) serve(w http.ResponseWriter, r *http.Request) {
	host, _, err := net.SplitHostPort(r.Host)
	if err != nil {
		host = r.Host
	}
	ing.mu.Lock()
	ing.hosts = append(ing.hosts, host)
	h := ing.routes[host]
	ing.mu.Unlock()
	if h == nil {
		http.NotFound(w, r)
		return
	}
	h.ServeHTTP(w, r)
}
