//go:build e2e

package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/yaml"

	"github.com/pocketidp/pocketidp/internal/config"
	"github.com/pocketidp/pocketidp/internal/humanitec"
	"github.com/pocketidp/pocketidp/internal/orchestrator"
	"github.com/pocketidp/pocketidp/internal/secret"
	"github.com/pocketidp/pocketidp/internal/state"
)

// sampleScore is the course's developer golden path on a small app: a web
// workload with a dns and a route (as the templates' score.yaml), plus the
// tutorial's `database: {type: postgres, class: 5min}`, its outputs passed
// to the container.
const sampleScore = `apiVersion: score.dev/v1b1
metadata:
  name: sample
service:
  ports:
    www:
      port: 80
      targetPort: 8080
containers:
  sample:
    image: .
    variables:
      DB_HOST: ${resources.database.host}
      DB_NAME: ${resources.database.name}
      DB_USER: ${resources.database.username}
resources:
  dns:
    type: dns
  route:
    type: route
    params:
      host: ${resources.dns.host}
      path: /
      port: 80
  database:
    type: postgres
    class: 5min
`

// sampleDockerfile serves index.html with busybox's httpd (busybox is in
// the runner's Docker daemon: no image can be pulled here).
const sampleDockerfile = "FROM busybox:1.38.0\nCOPY index.html /www/index.html\nCMD [\"httpd\", \"-f\", \"-v\", \"-p\", \"8080\", \"-h\", \"/www\"]\n"

// sampleWorkflow builds and pushes the sample's image, then deploys it
// through the orchestrator's API as the course's deploy workflows do with
// `humctl create artefact-version` and `humctl score deploy` (humctl
// cannot be downloaded here): an artefact version, a delta made from the
// Score file (delta.json, which ScoreDelta made from score.yaml, with the
// image left to fill in), a deployment of it. The org and token are the
// ones `up` gave Gitea's org (vars.HUMANITEC_ORG_ID,
// secrets.HUMANITEC_TOKEN), the API prefix the one the runner gives every
// job; curl trusts the install's CA as git does.
const sampleWorkflow = `name: deploy
on: push
jobs:
  deploy:
    runs-on: ubuntu-latest
    env:
      APP: %s
      ENV: %s
      IMAGE: localhost:5001/e2e-sample:${{ github.sha }}
    steps:
      - name: clone over https
        run: git clone https://git.localhost:8443/${{ github.repository }}.git src
      - name: build and push
        run: |
          cd src
          echo "sample ${{ github.sha }}" > index.html
          docker build -t "$IMAGE" .
          docker push "$IMAGE"
      - name: deploy with Score
        env:
          TOKEN: ${{ secrets.HUMANITEC_TOKEN }}
          ORG: ${{ vars.HUMANITEC_ORG_ID }}
        run: |
          cd src
          # The runner gives every job the orchestrator's API prefix (as
          # humctl and the Terraform provider read it).
          API="${HUMANITEC_API_PREFIX:?the job has no HUMANITEC_API_PREFIX}"
          api() { curl -fsS --cacert /pocketidp-ca/ca.crt -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' "$@"; }
          id() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).id))'; }
          api -X POST "$API/orgs/$ORG/artefact-versions" -d "{\"type\":\"container\",\"name\":\"${IMAGE%%:*}\",\"version\":\"${{ github.sha }}\"}" >/dev/null
          sed "s|@IMAGE@|$IMAGE|" delta.json > /tmp/delta.json
          delta=$(api -X POST "$API/orgs/$ORG/apps/$APP/deltas" -d @/tmp/delta.json | id)
          deploy=$(api -X POST "$API/orgs/$ORG/apps/$APP/envs/$ENV/deploys" -d "{\"delta_id\":\"$delta\",\"comment\":\"e2e sample\"}" | id)
          echo "deployment $deploy of delta $delta"
`

// orchestratorAPI calls the local orchestrator through the ingress with
// the install's org and token, as the tutorial's platform engineer does.
type orchestratorAPI struct {
	t   *testing.T
	hc  *http.Client
	acc orchestrator.Access
}

func (o orchestratorAPI) do(method, path string, body any, want int, out any) {
	o.t.Helper()
	req := jsonRequest(o.t, method, o.acc.URL+"/orgs/"+o.acc.Org+path, body)
	req.Header.Set("Authorization", "Bearer "+o.acc.Token.Reveal())
	callJSON(o.t, o.hc, req, want, out)
}

// localAccessOf reads the local orchestrator's org, token and URL from the
// install's state.
func localAccessOf(t *testing.T, stateDir string) orchestrator.Access {
	t.Helper()
	f, err := state.Read(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	acc := orchestrator.Access{Org: f.Values[orchestrator.StateOrg], Token: secret.New(f.Values[orchestrator.StateToken]),
		URL: f.Values[orchestrator.StateURL], CADir: filepath.Join(stateDir, "tls")}
	if acc.Org == "" || acc.Token.Empty() || acc.URL == "" {
		t.Fatalf("the state has no local orchestrator (org %q, URL %q, token set %v)", acc.Org, acc.URL, !acc.Token.Empty())
	}
	return acc
}

// orchestratorGoldenPath is the course's two golden paths against the local
// orchestrator of a real `up`: the platform engineer's postgres class
// `5min`, the resource pack's definition and its matching criteria; then a
// developer's app whose workflow builds its image and deploys its Score
// file with a database of that class. The app answers at its own host
// through Traefik with a certificate the install's CA signed, its database
// takes a query, and the graph shows the database and its class.
func orchestratorGoldenPath(t *testing.T, g giteaAPI, stateDir, kubeconfig, kubectl string, graph func(app string) string) {
	t.Helper()
	acc := localAccessOf(t, stateDir)
	o := orchestratorAPI{t: t, hc: g.hc, acc: acc}
	// The platform engineer: class, definition (the resource pack's, as
	// its Terraform module makes it), criteria.
	o.do(http.MethodPost, "/resources/types/postgres/classes", map[string]any{"id": "5min", "description": "Specifically to be used when using 5min IDP settings"}, http.StatusOK, nil)
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "course", "resource-packs-in-cluster", "humanitec-resource-defs", "postgres", "basic", "definition-values.yaml"))
	if err != nil {
		t.Fatalf("the course's postgres resource pack: %v", err)
	}
	var values map[string]any
	if err := yaml.Unmarshal(b, &values); err != nil {
		t.Fatal(err)
	}
	defID := "e2e-postgres"
	o.do(http.MethodPost, "/resources/defs", map[string]any{"id": defID, "name": defID, "type": "postgres",
		"driver_type": "humanitec/template", "driver_inputs": map[string]any{"values": values}}, http.StatusOK, nil)
	o.do(http.MethodPut, "/resources/defs/"+defID+"/criteria", []any{map[string]any{"env_type": humanitec.EnvTypeID, "class": "5min"}}, http.StatusOK, nil)

	// The developer: an app (as Backstage's template makes it), a
	// repository whose push builds and deploys.
	app := "e2e-sample"
	o.do(http.MethodPost, "/apps", map[string]any{"id": app, "name": app,
		"env": map[string]any{"id": humanitec.EnvID, "name": humanitec.EnvName, "type": humanitec.EnvTypeID}}, http.StatusCreated, nil)
	delta, err := orchestrator.ScoreDelta([]byte(sampleScore), humanitec.EnvID, "@IMAGE@")
	if err != nil {
		t.Fatal(err)
	}
	deltaJSON, _ := json.MarshalIndent(delta, "", "  ")
	s := time.Now()
	sha := g.pushRepo(app, "e2e: the sample app", map[string]string{
		".gitea/workflows/deploy.yaml": fmt.Sprintf(sampleWorkflow, app, humanitec.EnvID),
		"Dockerfile":                   sampleDockerfile,
		"score.yaml":                   sampleScore,
		"delta.json":                   string(deltaJSON),
	})
	g.waitRun("5minorg/"+app, sha, 15*time.Minute)
	t.Logf("figure: sample workflow (build, push, deploy through the orchestrator) done in %s", time.Since(s).Round(time.Second))

	var deploys []struct{ ID, Status string }
	o.do(http.MethodGet, "/apps/"+app+"/envs/"+humanitec.EnvID+"/deploys", nil, http.StatusOK, &deploys)
	if len(deploys) == 0 {
		t.Fatal("the workflow made no deployment")
	}
	c := &orchestrator.Client{URL: acc.URL, Org: acc.Org, Token: acc.Token, HTTP: g.hc}
	ctx := context.Background()
	s = time.Now()
	if err := c.WaitDeploy(ctx, app, humanitec.EnvID, deploys[0].ID, 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	t.Logf("figure: sample deployment (postgres and the workload ready) in %s", time.Since(s).Round(time.Second))

	res, err := c.Resources(ctx, app, humanitec.EnvID)
	if err != nil {
		t.Fatal(err)
	}
	var host string
	var db *orchestrator.ActiveResource
	for i, r := range res {
		switch r.Type {
		case "dns":
			host, _ = r.Outputs["host"].(string)
		case "postgres":
			db = &res[i]
		}
	}
	if db == nil || db.Class != "5min" || db.DefID != defID {
		t.Fatalf("active resources %+v: want a postgres of class 5min from %s", res, defID)
	}
	if !strings.HasSuffix(host, ".localhost") {
		t.Fatalf("the sample's dns host is %q, want a name under localhost", host)
	}

	// Through Traefik, at its own host, trusted through the install's CA
	// (the orchestrator's issuer is an intermediate of it).
	url := fmt.Sprintf("https://%s:%d/", host, config.DefaultPort)
	var body string
	if err := wait.PollUntilContextTimeout(ctx, 2*time.Second, 2*time.Minute, true, func(context.Context) (bool, error) {
		resp, err := g.hc.Get(url)
		if err != nil {
			body = err.Error()
			return false, nil
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body = resp.Status + " " + string(b)
		return resp.StatusCode == http.StatusOK, nil
	}); err != nil {
		t.Fatalf("the sample at %s does not answer: %s", url, body)
	}
	if !strings.Contains(body, "sample "+sha) {
		t.Errorf("the sample at %s answered %q, want the build of %s", url, body, sha)
	}

	// The database takes a query with the credentials it was made with
	// (from the container's environment: nothing secret on a command line).
	kube := kubeClient(t, kubeconfig)
	ns := humanitec.Namespace(app, humanitec.EnvID)
	sts, err := kube.AppsV1().StatefulSets(ns).Get(ctx, "postgres-sample-database", metav1.GetOptions{})
	if err != nil || sts.Status.ReadyReplicas != 1 {
		t.Fatalf("the database's StatefulSet: %v (%+v)", err, sts.Status)
	}
	// The resource pack's StatefulSet has no readiness probe: its pod is
	// Ready while the entrypoint still initialises the database.
	var out []byte
	if err := wait.PollUntilContextTimeout(ctx, 2*time.Second, 2*time.Minute, true, func(context.Context) (bool, error) {
		out, err = exec.Command(kubectl, "--kubeconfig", kubeconfig, "-n", ns, "exec", "postgres-sample-database-0", "--",
			"sh", "-c", `PGPASSWORD="$POSTGRES_PASSWORD" psql -h 127.0.0.1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" -tAc 'select 40 + 2'`).CombinedOutput()
		return err == nil && strings.TrimSpace(string(out)) == "42", nil
	}); err != nil {
		t.Errorf("a query on the sample's database: %v: %s", err, out)
	}
	dep, err := kube.AppsV1().Deployments(ns).Get(ctx, "sample", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, e := range dep.Spec.Template.Spec.Containers[0].Env {
		env[e.Name] = e.Value
	}
	if env["DB_HOST"] != "postgres-sample-database" {
		t.Errorf("the sample's DB_HOST = %q, want the database's Service", env["DB_HOST"])
	}

	// The graph shows the database and its class.
	g2 := graph(app)
	for _, want := range []string{"workload sample", "postgres", "class 5min", defID} {
		if !strings.Contains(g2, want) {
			t.Errorf("pocketidp graph --app %s lacks %q:\n%s", app, want, g2)
		}
	}
	if strings.Contains(g2, acc.Token.Reveal()) || slices.ContainsFunc(strings.Fields(g2), func(f string) bool { return strings.HasPrefix(f, "pidp_") }) {
		t.Errorf("the graph shows the token:\n%s", g2)
	}
}
