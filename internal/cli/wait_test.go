package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/pocketidp/pocketidp/internal/bootstrap"
	"github.com/pocketidp/pocketidp/internal/charts"
	"github.com/pocketidp/pocketidp/internal/config"
	"github.com/pocketidp/pocketidp/internal/humanitec"
	"github.com/pocketidp/pocketidp/internal/humanitec/humanitectest"
	"github.com/pocketidp/pocketidp/internal/testenv"
	"github.com/pocketidp/pocketidp/internal/tui"
)

// TestUpWaitFollowsBackstage is the course's path to Backstage on the test
// bed: `up` triggers the build, which a runner on the real Gitea runs
// (registered with the token of the runner chart's Secret),
// deploying to the Humanitec fake with the org's Actions variables and
// secret as the workflow's humctl does; `up --wait` then follows the
// deployment and reaches Backstage through an ingress serving PocketIDP's
// certificate. Then `down`, and an `up` that starts while a namespace
// `down` deleted is still terminating.
func TestUpWaitFollowsBackstage(t *testing.T) {
	b := newBed(t)
	cs, err := b.kube.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	ing := testenv.StartIngress(t, cs, bootstrap.TLSSecret.Namespace, bootstrap.TLSSecret.Name)
	port := strconv.Itoa(ing.Port)

	// up: the platform, and the build triggered but not waited for.
	r := b.run(t, "up", "--yes", "--port", port)
	if r.code != 0 {
		t.Fatalf("up exit %d\nstderr: %s\nstdout: %s", r.code, r.stderr, r.stdout)
	}
	if !strings.Contains(r.stdout, "/5minorg/backstage/actions") || !strings.Contains(r.stdout, "up --wait") {
		t.Errorf("the summary does not say where the build runs or how to wait for it:\n%s", r.stdout)
	}
	id := b.installID(t)
	// Nothing deployed yet: status says so, and how to get the URL.
	if r := b.run(t, "status"); !strings.Contains(r.stdout, "no deployment seen yet") {
		t.Errorf("status before the build does not say Backstage is not seen yet:\n%s", r.stdout)
	}
	// The runner the chart would start: it registers with the token the
	// chart's Secret holds. Until then the build waits in Gitea's queue.
	sec, err := cs.CoreV1().Secrets(charts.RunnerNamespace).Get(context.Background(), charts.RunnerTokenSecret, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var deployed []string // app ids the CI deployed
	runner := testenv.ActionsRunner(t, testenv.RunnerOptions{GiteaURL: b.gitea.URL, RegistrationToken: string(sec.Data["token"]),
		Outcome: func(task testenv.RunnerTask) testenv.TaskOutcome {
			app := task.Vars["HUMANITEC_APP_ID"]
			if err := humanitectest.CIDeploy(b.hum.URL, task.Vars, task.Secrets); err != nil {
				t.Errorf("the workflow's deploy: %v", err)
				return testenv.TaskOutcome{FailStep: 1}
			}
			mu.Lock()
			deployed = append(deployed, app)
			mu.Unlock()
			return testenv.TaskOutcome{}
		}})
	app := humanitec.BackstageAppID(id)
	host := app + "-wxyz.localhost"
	ing.Route(host, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "<title>Backstage</title>") }))
	// The deployment the build made finishes with the route's host.
	b.hum.ScriptDeploys(humanitectest.DefaultOrg, app, config.EnvType, humanitectest.DeployScript{InProgressFor: 500 * time.Millisecond, Host: host})

	r = b.run(t, "up", "--yes", "--port", port, "--wait", "--wait-timeout", "2m")
	if r.code != 0 {
		t.Fatalf("up --wait exit %d\nstderr: %s\nstdout: %s", r.code, r.stderr, r.stdout)
	}
	mu.Lock()
	if len(deployed) != 1 || deployed[0] != app {
		t.Errorf("the CI deployed %v, want one deployment of %s", deployed, app)
	}
	mu.Unlock()
	url := "https://" + host + ":" + port
	if !strings.Contains(r.stdout, url) {
		t.Errorf("the summary does not give Backstage's URL %s:\n%s", url, r.stdout)
	}
	if hosts := ing.Hosts(); len(hosts) == 0 || hosts[len(hosts)-1] != host {
		t.Errorf("Backstage was not reached through the ingress: hosts %v", hosts)
	}

	r = b.run(t, "status", "-o", "json")
	var st tui.Status
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatalf("status -o json: %v\n%s", err, r.stdout)
	}
	var healthy bool
	for _, c := range st.Components {
		healthy = healthy || (c.Name == "backstage" && c.Health == tui.Healthy)
	}
	if !healthy || !strings.Contains(r.stdout, url) {
		t.Errorf("status does not show Backstage healthy at %s: %s", url, r.stdout)
	}
	// status asks the URLs now: Backstage answers through the ingress.
	for _, l := range st.URLs {
		if l.Name == "Backstage" && (!l.Answers || l.Answer != "HTTP 200") {
			t.Errorf("status: Backstage answer %q (answers %t), want HTTP 200", l.Answer, l.Answers)
		}
	}
	// And says so when it does not.
	ing.Route(host, http.NotFoundHandler())
	r = b.run(t, "status", "-o", "json")
	st = tui.Status{}
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatalf("status -o json: %v\n%s", err, r.stdout)
	}
	for _, l := range st.URLs {
		if l.Name == "Backstage" && (l.Answers || l.Answer != "HTTP 404") {
			t.Errorf("status with Backstage gone from the ingress: answer %q (answers %t), want HTTP 404", l.Answer, l.Answers)
		}
	}
	ing.Route(host, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "<title>Backstage</title>") }))

	// down, with the traefik namespace held as pods that take time to
	// stop hold it; the next up must wait for it, not fail.
	if _, err := cs.CoreV1().ConfigMaps("traefik").Create(context.Background(), &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "held", Finalizers: []string{"pocketidp.test/hold"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if r := b.run(t, "down", "--yes", "-o", "json"); r.code != 0 {
		t.Fatalf("down exit %d: %s", r.code, r.stderr)
	}
	// In a cluster Gitea goes with its chart, and the runners it knew with
	// it; the bed's Gitea runs outside and stays, so its runner goes here.
	if err := runner.Close(); err != nil {
		t.Error(err)
	}
	if _, err := b.giteaAdmin(t).DeleteAdminActionRunner(runner.ID); err != nil {
		t.Fatal(err)
	}
	ns, err := cs.CoreV1().Namespaces().Get(context.Background(), "traefik", metav1.GetOptions{})
	if err != nil || ns.DeletionTimestamp == nil {
		t.Fatalf("namespace traefik after down: %v, %v; want it terminating", ns, err)
	}
	// The timer reports through released, checked in t.Cleanup: a t.Error
	// from it after the test ended would panic.
	released := make(chan error, 1)
	timer := time.AfterFunc(2*time.Second, func() {
		_, err := cs.CoreV1().ConfigMaps("traefik").Patch(context.Background(), "held", types.MergePatchType,
			[]byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{})
		released <- err
	})
	t.Cleanup(func() {
		if timer.Stop() {
			return // the test ended before it fired: nothing was let go
		}
		if err := <-released; err != nil {
			t.Errorf("let namespace traefik go: %v", err)
		}
	})
	if r := b.run(t, "up", "--yes", "-o", "json", "--port", port); r.code != 0 {
		t.Fatalf("up right after down exit %d\nstderr: %s\nstdout: %s", r.code, r.stderr, r.stdout)
	}
}
