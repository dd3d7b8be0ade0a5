package orchestrator

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pocketidp/pocketidp/internal/testenv"
)

// The state kept in the cluster survives a new server, and the secrets
// are in Secrets, never in ConfigMaps.
func TestKubeStoreKeepsStateAcrossServers(t *testing.T) {
	c := testenv.SharedAPIServer(t)
	ns := c.Namespace(t)
	cs, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	store := NewKubeStore(cs, ns)
	sv := serve(t, Config{Store: store})
	setupApp(sv)
	sv.must(201, "POST", orgPath("/apps/shop/values"), map[string]any{"key": "TOKEN", "value": "kube-s3cr3t", "description": "t", "is_secret": true})
	sv.must(201, "POST", orgPath("/apps/shop/values"), map[string]any{"key": "PLAIN", "value": "v1", "description": "p", "is_secret": false})
	sv.must(200, "PATCH", orgPath("/apps/shop/values/PLAIN"), map[string]any{"value": "v2"})

	again := serve(t, Config{Store: NewKubeStore(cs, ns)})
	vals := again.must(200, "GET", orgPath("/apps/shop/values"), nil).([]any)
	if len(vals) != 2 || field(vals[0], "value") != "v2" || field(vals[1], "is_secret") != true {
		t.Errorf("values after a restart = %v", vals)
	}
	again.srv.mu.Lock()
	tok := again.srv.st.sharedValues(again.srv.st.Apps["shop"])["TOKEN"]
	again.srv.mu.Unlock()
	if tok != "kube-s3cr3t" {
		t.Errorf("secret after a restart = %q", tok)
	}

	cms, err := cs.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{LabelSelector: labelComponent + "=" + stateComponent})
	if err != nil {
		t.Fatal(err)
	}
	if len(cms.Items) == 0 {
		t.Fatal("no state ConfigMaps")
	}
	for _, cm := range cms.Items {
		if strings.Contains(cm.Data[stateDataKey], "kube-s3cr3t") {
			t.Errorf("ConfigMap %s holds the secret", cm.Name)
		}
	}
	sec, err := cs.CoreV1().Secrets(ns).Get(ctx, objectName(collSecrets), metav1.GetOptions{})
	if err != nil || !strings.Contains(string(sec.Data[stateDataKey]), "kube-s3cr3t") {
		t.Errorf("Secret %s: %v, holds the secret: %v", objectName(collSecrets), err, err == nil && strings.Contains(string(sec.Data[stateDataKey]), "kube-s3cr3t"))
	}
}
