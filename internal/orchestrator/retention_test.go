package orchestrator

import (
	"fmt"
	"testing"
)

// A course's worth of CI runs keeps the state bounded: old deployments,
// deltas and the sets only they used go; the newest stay deployable.
func TestStateKeepsTheNewestDeploymentsOnly(t *testing.T) {
	sv := serve(t, Config{Deployer: &stubDeployer{}})
	setupApp(sv)
	env := orgPath("/apps/shop/envs/5min-local")
	runs := keepDeploysPerEnv + 7
	var last string
	for i := range runs {
		mod := map[string]any{"profile": "humanitec/default-module", "externals": map[string]any{},
			"spec": map[string]any{"containers": map[string]any{"web": map[string]any{"image": fmt.Sprintf("localhost:5001/web:%d", i)}}}}
		delta := sv.must(200, "POST", orgPath("/apps/shop/deltas"), map[string]any{"modules": map[string]any{"add": map[string]any{"web": mod}}})
		d := sv.must(201, "POST", env+"/deploys", map[string]any{"delta_id": field(delta, "id")})
		last = field(d, "id").(string)
		waitStatus(t, sv, env+"/deploys/"+last)
	}
	if n := len(sv.must(200, "GET", env+"/deploys", nil).([]any)); n != keepDeploysPerEnv {
		t.Errorf("%d deployments kept, want %d", n, keepDeploysPerEnv)
	}
	if n := len(sv.must(200, "GET", orgPath("/apps/shop/deltas"), nil).([]any)); n > keepDeltasPerApp {
		t.Errorf("%d deltas kept, want at most %d", n, keepDeltasPerApp)
	}
	sv.srv.mu.Lock()
	sets := len(sv.srv.st.Sets)
	sv.srv.mu.Unlock()
	if sets != keepDeploysPerEnv {
		t.Errorf("%d sets kept, want %d (one per kept deployment)", sets, keepDeploysPerEnv)
	}
	// The newest is still there to build on.
	d := sv.must(201, "POST", env+"/deploys", map[string]any{"comment": "redeploy"})
	waitStatus(t, sv, env+"/deploys/"+field(d, "id").(string))
	if got := field(sv.must(200, "GET", env+"/deploys/"+field(d, "id").(string), nil), "from_id"); got != last {
		t.Errorf("redeploy from %v, want %s", got, last)
	}
}
