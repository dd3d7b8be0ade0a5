package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"regexp"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var nonDNSLabel = regexp.MustCompile(`[^a-z0-9-]+`)

// UniqueName turns the test's name into a DNS label (namespaces, releases,
// repositories) with a random suffix, so reruns and parallel tests never
// collide and a leftover object still says which test made it.
func UniqueName(t testing.TB) string {
	t.Helper()
	base := nonDNSLabel.ReplaceAllString(strings.ToLower(t.Name()), "-")
	base = strings.Trim(base, "-")
	const maxBase = 63 - 1 - 6 // label limit, dash, suffix
	if len(base) > maxBase {
		base = strings.TrimRight(base[:maxBase], "-")
	}
	if base == "" {
		base = "test"
	}
	suffix := make([]byte, 3)
	if _, err := rand.Read(suffix); err != nil {
		t.Fatalf("testenv: random name: %v", err)
	}
	return base + "-" + hex.EncodeToString(suffix)
}

// Namespace creates a namespace named after the test on the cluster and
// returns its name. It is deleted in t.Cleanup (the namespace controller
// stand-in then empties it and it goes away; the cleanup does not wait).
func (c *Cluster) Namespace(t testing.TB) string {
	t.Helper()
	cs, err := c.Clientset()
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	name := UniqueName(t)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := cs.CoreV1().Namespaces().Create(context.Background(), ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("testenv: create namespace %s: %v", name, err)
	}
	t.Cleanup(func() {
		// Best effort: the shared server may already be gone at the end.
		_ = cs.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	return name
}
