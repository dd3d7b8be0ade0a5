package orchestrator

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// stubDeployer holds each deployment until released, then answers what
// the test told it.
type stubDeployer struct {
	mu        sync.Mutex
	release   chan struct{}
	fail      bool
	jobs      []*Job
	teardowns []string
}

func (d *stubDeployer) Deploy(ctx context.Context, j *Job) Result {
	d.mu.Lock()
	d.jobs = append(d.jobs, j)
	rel, fail := d.release, d.fail
	d.mu.Unlock()
	if rel != nil {
		select {
		case <-rel:
		case <-ctx.Done():
		}
	}
	if fail {
		return Result{Errors: []DeployError{{Scope: "workload", ObjectID: "web", Code: "POCKETIDP-IMAGE",
			Summary: "Image cannot be pulled", Message: "Deployment web: image localhost:5001/web:1 not found; push it first."}}}
	}
	return Result{Resources: []*ActiveResource{{AppID: j.App, EnvID: j.Env, EnvType: j.EnvType, ResID: "modules.web.externals.dns",
		Type: "dns", Class: "default", DefID: "dns-def", DefVersionID: "dns-def-v1", DriverType: "humanitec/dns-wildcard",
		DeployID: j.DeployID, GUResID: "r1", UpdatedAt: "2026-01-01T00:00:00.000Z", Outputs: map[string]any{"host": "web-abcd.localhost"}}}}
}

func (d *stubDeployer) Teardown(_ context.Context, app, env string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.teardowns = append(d.teardowns, app+"/"+env)
	return nil
}

// waitStatus polls the deployment until it has left "in progress".
func waitStatus(t *testing.T, sv *served, path string) map[string]any {
	t.Helper()
	var last map[string]any
	err := wait.PollUntilContextTimeout(context.Background(), 10*time.Millisecond, 5*time.Second, true, func(context.Context) (bool, error) {
		_, out := sv.call("GET", path, nil)
		last, _ = out.(map[string]any)
		return last["status"] != DeployInProgress, nil
	})
	if err != nil {
		t.Fatalf("deployment %s still %v: %v", path, last["status"], err)
	}
	return last
}

func setupApp(sv *served) {
	sv.must(201, "POST", orgPath("/env-types"), map[string]any{"id": "5min-local"})
	sv.must(201, "POST", orgPath("/apps"), map[string]any{"id": "shop", "name": "Shop", "env": map[string]any{"id": "5min-local", "name": "L", "type": "5min-local"}})
}

var webModule = map[string]any{"profile": "humanitec/default-module",
	"spec":      map[string]any{"containers": map[string]any{"web": map[string]any{"id": "web", "image": "localhost:5001/web:1"}}},
	"externals": map[string]any{"dns": map[string]any{"type": "dns"}}}

func TestDeploymentLifecycle(t *testing.T) {
	dep := &stubDeployer{release: make(chan struct{})}
	sv := serve(t, Config{Deployer: dep})
	setupApp(sv)
	env := orgPath("/apps/shop/envs/5min-local")

	delta := sv.must(200, "POST", orgPath("/apps/shop/deltas"), map[string]any{"metadata": map[string]any{"env_id": "5min-local", "name": "score"},
		"modules": map[string]any{"add": map[string]any{"web": webModule}}})
	deltaID := field(delta, "id").(string)
	sv.must(200, "GET", orgPath("/apps/shop/deltas/"+deltaID), nil)
	sv.must(200, "PATCH", orgPath("/apps/shop/deltas/"+deltaID), []any{map[string]any{"modules": map[string]any{
		"update": map[string]any{"web": []any{map[string]any{"op": "add", "path": "/spec/containers/web/variables/PORT", "value": "3000"}}}}}})

	d := sv.must(201, "POST", env+"/deploys", map[string]any{"delta_id": deltaID, "comment": "first"})
	id := field(d, "id").(string)
	if field(d, "status") != DeployInProgress {
		t.Errorf("a new deployment is %v, want %q", field(d, "status"), DeployInProgress)
	}
	sv.must(409, "POST", env+"/deploys", map[string]any{"delta_id": deltaID})
	close(dep.release)
	if got := waitStatus(t, sv, env+"/deploys/"+id); got["status"] != DeploySucceeded {
		t.Fatalf("deployment = %v, want succeeded", got)
	}
	// The job had the patched module.
	if v := field(map[string]any(dep.jobs[0].Set["web"].Spec), "containers", "web", "variables", "PORT"); v != "3000" {
		t.Errorf("the deployed set's PORT = %v, want 3000 (the delta's update)", v)
	}
	res := sv.must(200, "GET", env+"/resources", nil).([]any)
	if len(res) != 1 || field(res[0], "resource", "host") != "web-abcd.localhost" {
		t.Errorf("active resources = %v, want the dns host", res)
	}
	sv.must(200, "GET", env+"/deploys/"+id+"/errors", nil)
	if got := sv.must(200, "GET", env, nil); field(got, "last_deploy", "id") != id {
		t.Errorf("env last_deploy = %v, want %s", field(got, "last_deploy"), id)
	}

	// A preview environment from that deployment redeploys its set.
	sv.must(201, "POST", orgPath("/apps/shop/envs"), map[string]any{"id": "pr-7", "name": "PR 7", "type": "5min-local", "from_deploy_id": id})
	d2 := sv.must(201, "POST", orgPath("/apps/shop/envs/pr-7/deploys"), map[string]any{"comment": "preview"})
	waitStatus(t, sv, orgPath("/apps/shop/envs/pr-7/deploys/")+field(d2, "id").(string))
	if _, ok := dep.jobs[1].Set["web"]; !ok || dep.jobs[1].Env != "pr-7" {
		t.Errorf("the preview deployment got set %v in %s, want the web module in pr-7", dep.jobs[1].Set, dep.jobs[1].Env)
	}
	// Deleting it tears its objects down.
	sv.must(204, "DELETE", orgPath("/apps/shop/envs/pr-7"), nil)
	sv.srv.Wait()
	if !slices.Contains(dep.teardowns, "shop/pr-7") {
		t.Errorf("teardowns = %v, want shop/pr-7", dep.teardowns)
	}

	// A definition in use is only deleted with force.
	sv.must(200, "POST", orgPath("/resources/defs"), map[string]any{"id": "dns-def", "name": "dns", "type": "dns", "driver_type": "humanitec/dns-wildcard"})
	if st, out := sv.call("DELETE", orgPath("/resources/defs/dns-def"), nil); st != 409 || len(out.([]any)) != 1 {
		t.Errorf("delete a definition in use = %d %v, want 409 naming the resource", st, out)
	}
	sv.must(204, "DELETE", orgPath("/resources/defs/dns-def?force=true"), nil)
}

func TestFailedDeploymentHasErrors(t *testing.T) {
	dep := &stubDeployer{fail: true}
	sv := serve(t, Config{Deployer: dep})
	setupApp(sv)
	env := orgPath("/apps/shop/envs/5min-local")
	d := sv.must(201, "POST", env+"/deploys", map[string]any{"comment": "nothing yet"})
	id := field(d, "id").(string)
	if got := waitStatus(t, sv, env+"/deploys/"+id); got["status"] != DeployFailed {
		t.Fatalf("deployment = %v, want failed", got)
	}
	errs := sv.must(200, "GET", env+"/deploys/"+id+"/errors", nil).([]any)
	if len(errs) != 1 || field(errs[0], "code") != "POCKETIDP-IMAGE" {
		t.Errorf("errors = %v", errs)
	}
	sv.must(400, "POST", env+"/deploys", map[string]any{"delta_id": "0000000000000000"})
}

func TestDeploymentCutOffByRestartFails(t *testing.T) {
	store := NewMemoryStore()
	dep := &stubDeployer{release: make(chan struct{})}
	sv := serve(t, Config{Store: store, Deployer: dep})
	setupApp(sv)
	env := orgPath("/apps/shop/envs/5min-local")
	id := field(sv.must(201, "POST", env+"/deploys", map[string]any{"comment": "x"}), "id").(string)

	again := serve(t, Config{Store: store})
	got := again.must(200, "GET", env+"/deploys/"+id, nil)
	if field(got, "status") != DeployFailed {
		t.Errorf("after a restart the deployment is %v, want failed", field(got, "status"))
	}
	close(dep.release)
}
