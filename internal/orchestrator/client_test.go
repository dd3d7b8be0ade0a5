package orchestrator

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pocketidp/pocketidp/internal/humanitec"
	"github.com/pocketidp/pocketidp/internal/secret"
)

// The client deploys a template's Score file the way the course's CI does,
// and the terminal graph shows its resources.
func TestClientDeploysScoreAndDrawsTheGraph(t *testing.T) {
	p := newPlatform(t)
	ctx := context.Background()
	c := &Client{URL: p.URL, Org: testOrg, Token: secret.New(testToken)}
	app := humanitec.AppID(p.install)
	score := readFixture(t, "backstage-catalog-templates/5min-podinfo/content/score.yaml")
	id, err := c.DeployScore(ctx, app, humanitec.EnvID, score, "localhost:5001/podinfo:abc1234", "from the client")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WaitDeploy(ctx, app, humanitec.EnvID, id, time.Minute); err != nil {
		t.Fatal(err)
	}
	av := p.must(200, "GET", orgPath("/artefact-versions?name=localhost:5001/podinfo"), nil).([]any)
	if len(av) != 1 || field(av[0], "version") != "abc1234" {
		t.Errorf("artefact versions = %v", av)
	}
	res, err := c.Resources(ctx, app, humanitec.EnvID)
	if err != nil {
		t.Fatal(err)
	}
	g := TextGraph(res)
	for _, want := range []string{"workload podinfo-workload", "dns dns (class default, " + humanitec.Prefix(p.install) + humanitec.DefDNS + ") " + app + "-",
		"route route", "environment", "k8s-namespace k8s-namespace"} {
		if !strings.Contains(g, want) {
			t.Errorf("graph lacks %q:\n%s", want, g)
		}
	}
	// A failed deployment is an error that lists why.
	bad := []byte("apiVersion: score.dev/v1b1\nmetadata: {name: w}\ncontainers: {c: {image: .}}\n")
	id, err = c.DeployScore(ctx, app, humanitec.EnvID, bad, "", "no image")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WaitDeploy(ctx, app, humanitec.EnvID, id, time.Minute); err == nil || !strings.Contains(err.Error(), "has no image") {
		t.Errorf("waiting for a failing deployment: %v", err)
	}
	if _, err := (&Client{URL: p.URL, Org: testOrg, Token: secret.New("wrong")}).Resources(ctx, app, humanitec.EnvID); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("a wrong token: %v", err)
	}
}
