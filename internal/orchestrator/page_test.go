package orchestrator

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
)

// graphDeployer provisions a small graph: a workload's dns, route (which
// depends on the dns) and postgres of class 5min with a secret output.
type graphDeployer struct{ stubDeployer }

func (g *graphDeployer) Deploy(_ context.Context, j *Job) Result {
	res := func(typ, class, name string, out, sec map[string]any, deps ...string) *ActiveResource {
		return &ActiveResource{AppID: j.App, EnvID: j.Env, EnvType: j.EnvType, ResID: "modules.web.externals." + name, Type: typ, Class: class,
			DefID: typ + "-def", DeployID: j.DeployID, Outputs: out, Secrets: sec, DependsOn: deps}
	}
	if j.Env == "broken" {
		return Result{Errors: []DeployError{{Scope: "workload", ObjectID: "web", Message: "image <none> cannot be pulled"}}}
	}
	return Result{Resources: []*ActiveResource{
		res("dns", "default", "dns", map[string]any{"host": "web-abcd.localhost"}, nil),
		res("route", "default", "route", map[string]any{"host": "web-abcd.localhost"}, nil, "dns.default#modules.web.externals.dns"),
		res("postgres", "5min", "database", map[string]any{"host": "pg"}, map[string]any{"password": "s3cr3t-pg"}),
	}}
}

func TestStatusPageShowsAppsDeploymentsAndTheGraph(t *testing.T) {
	sv := serve(t, Config{Deployer: &graphDeployer{}, IngressPort: 9443})
	setupApp(sv)
	sv.must(201, "POST", orgPath("/apps/shop/envs"), map[string]any{"id": "broken", "name": "Broken", "type": "5min-local"})
	delta := sv.must(200, "POST", orgPath("/apps/shop/deltas"), map[string]any{"modules": map[string]any{"add": map[string]any{"web": webModule}}})
	for _, env := range []string{"5min-local", "broken"} {
		path := orgPath("/apps/shop/envs/", env, "/deploys")
		d := sv.must(201, "POST", path, map[string]any{"delta_id": field(delta, "id"), "comment": "deploy " + env})
		waitStatus(t, sv, path+"/"+field(d, "id").(string))
	}
	resp, err := http.Get(sv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	page := string(b)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET / = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{
		"App shop", "Environment 5min-local", "Environment broken",
		`class="succeeded">succeeded`, `class="failed">failed`,
		"image &lt;none&gt; cannot be pulled", // escaped
		`href="https://web-abcd.localhost:9443/"`,
		"<svg", "postgres · database", "class 5min · postgres-def", "web</text>",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	// workload→dns, workload→route, workload→postgres, route→dns.
	if n := strings.Count(page, "<line "); n != 4 {
		t.Errorf("the graph has %d edges, want 4", n)
	}
	if strings.Contains(page, "s3cr3t") || strings.Contains(page, "<script") {
		t.Error("the page shows a secret or runs a script")
	}
}

func TestGraphLayersFollowDependencies(t *testing.T) {
	res := []*ActiveResource{
		{ResID: "modules.w.externals.route", Type: "route", Class: "default", DependsOn: []string{"dns.default#modules.w.externals.dns"}},
		{ResID: "modules.w.externals.dns", Type: "dns", Class: "default", DependsOn: []string{"ingress.default#modules.w.externals.dns"}},
		{ResID: "modules.w.externals.dns", Type: "ingress", Class: "default"},
		{ResID: "k8s-namespace", Type: "k8s-namespace", Class: "default"},
	}
	g := buildGraph([]string{"w"}, res)
	layer := map[string]int{}
	for _, n := range g.Nodes {
		layer[n.Key] = n.Layer
	}
	for key, want := range map[string]int{"workload/w": 0, "k8s-namespace.default#k8s-namespace": 0, "route.default#modules.w.externals.route": 1,
		"dns.default#modules.w.externals.dns": 2, "ingress.default#modules.w.externals.dns": 3} {
		if layer[key] != want {
			t.Errorf("%s is in layer %d, want %d", key, layer[key], want)
		}
	}
	if g.Width <= nodeW || g.Height <= nodeH {
		t.Errorf("graph size %dx%d", g.Width, g.Height)
	}
}
