package orchestrator

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/pocketidp/pocketidp/internal/humanitec"
	"github.com/pocketidp/pocketidp/internal/secret"
	"github.com/pocketidp/pocketidp/internal/testenv"
)

// platform is an orchestrator with PocketIDP's own registration (env type,
// apps, Backstage's shared values, definitions), deploying into the test
// API server.
type platform struct {
	*served
	cs      kubernetes.Interface
	install string
	apps    []string
}

func newPlatform(t *testing.T, cfg ...EngineConfig) *platform {
	t.Helper()
	c := testenv.SharedAPIServer(t)
	eng, err := NewEngine(c.RESTConfig(), append(cfg, EngineConfig{})[0])
	if err != nil {
		t.Fatal(err)
	}
	cs, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	// A fresh install id per test: apps, and so namespaces, never collide.
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	id := ""
	for _, x := range b {
		id += string(rune('a' + int(x)%26))
	}
	p := &platform{served: serve(t, Config{Deployer: eng}), cs: cs, install: id}
	ctx := context.Background()
	hc, err := humanitec.New(humanitec.Config{BaseURL: p.URL, Org: testOrg, Token: secret.New(testToken)})
	if err != nil {
		t.Fatal(err)
	}
	sp := humanitec.NewSpec(humanitec.SpecInput{InstallID: id, Org: testOrg, Token: secret.New("backstage-orchestrator-token")})
	if err := hc.CreateEnvType(ctx, sp.EnvType); err != nil {
		t.Fatal(err)
	}
	for _, a := range sp.Apps {
		if err := hc.CreateApp(ctx, a); err != nil {
			t.Fatal(err)
		}
		p.apps = append(p.apps, a.ID)
	}
	for _, v := range sp.Values {
		in := humanitec.ValueCreate{Key: v.Key, Description: v.Description, Value: v.Value, IsSecret: v.IsSecret()}
		if v.IsSecret() {
			in.Value = v.Secret.Reveal()
		}
		if err := hc.CreateValue(ctx, v.App, in); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range sp.Definitions {
		if err := hc.CreateDefinition(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, a := range p.apps {
			_ = cs.CoreV1().Namespaces().Delete(context.Background(), humanitec.Namespace(a, humanitec.EnvID), metav1.DeleteOptions{})
		}
	})
	return p
}

// deployScore deploys a Score file the way `humctl score deploy` does (a
// delta, then a deployment of it) and waits for the outcome.
func (p *platform) deployScore(t *testing.T, app string, score []byte, image string) map[string]any {
	t.Helper()
	body, err := ScoreDelta(score, humanitec.EnvID, image)
	if err != nil {
		t.Fatal(err)
	}
	delta := p.must(200, "POST", orgPath("/apps/", app, "/deltas"), body)
	env := orgPath("/apps/", app, "/envs/", humanitec.EnvID)
	d := p.must(201, "POST", env+"/deploys", map[string]any{"delta_id": field(delta, "id"), "comment": "score deploy"})
	got := waitStatus(t, p.served, env+"/deploys/"+field(d, "id").(string))
	if got["status"] != DeploySucceeded {
		_, errs := p.call("GET", env+"/deploys/"+field(d, "id").(string)+"/errors", nil)
		t.Fatalf("deployment %v: %v", got["status"], errs)
	}
	return got
}

func (p *platform) resources(t *testing.T, app string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, r := range p.must(200, "GET", orgPath("/apps/", app, "/envs/", humanitec.EnvID, "/resources"), nil).([]any) {
		m := r.(map[string]any)
		out[m["type"].(string)+"#"+m["res_id"].(string)] = m
	}
	return out
}

func readFixture(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(courseDir, rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func envOf(c corev1.Container) map[string]corev1.EnvVar {
	out := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		out[e.Name] = e
	}
	return out
}

// Backstage's own score.5min.yaml, as its deploy workflow sends it.
func TestDeployBackstageScore(t *testing.T) {
	p := newPlatform(t)
	ctx := context.Background()
	app := humanitec.BackstageAppID(p.install)
	ns := humanitec.Namespace(app, humanitec.EnvID)
	p.deployScore(t, app, readFixture(t, "backstage/score.5min.yaml"), "localhost:5001/backstage:abc1234")

	res := p.resources(t, app)
	dns := res["dns#modules.backstage.externals.dns"]
	host, _ := field(dns, "resource", "host").(string)
	if !strings.HasPrefix(host, app+"-") || !strings.HasSuffix(host, ".localhost") {
		t.Fatalf("dns host = %q, want %s-xxxx.localhost (resources %v)", host, app, res)
	}
	if pg := res["postgres#modules.backstage.externals.db"]; field(pg, "def_id") != humanitec.Prefix(p.install)+humanitec.DefPostgres {
		t.Errorf("postgres came from %v, want PocketIDP's postgres definition", field(pg, "def_id"))
	}
	if ing := res["ingress#modules.backstage.externals.dns"]; ing == nil {
		t.Errorf("the dns definition did not bring its ingress along: %v", res)
	}

	dep, err := p.cs.AppsV1().Deployments(ns).Get(ctx, "backstage", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := dep.Spec.Template.Spec.Containers[0]
	if c.Image != "localhost:5001/backstage:abc1234" || !slices.Equal(c.Args, []string{"packages/backend", "--config", "app-config.5min.yaml"}) {
		t.Errorf("container = %s %v", c.Image, c.Args)
	}
	env := envOf(c)
	for name, want := range map[string]string{
		"APP_CONFIG_app_baseUrl": "https://" + host, "HUMANITEC_ORG_ID": testOrg, "CLOUD_PROVIDER": "5min",
		"POSTGRES_PORT": "5432", "NODE_TLS_REJECT_UNAUTHORIZED": "0",
	} {
		if env[name].Value != want {
			t.Errorf("%s = %q, want %q", name, env[name].Value, want)
		}
	}
	// Secrets reach the container through a Secret, never in the spec.
	for _, name := range []string{"HUMANITEC_TOKEN", "POSTGRES_PASSWORD", "POSTGRES_USER"} {
		if e := env[name]; e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
			t.Errorf("%s = %+v, want a Secret reference", name, e)
		}
	}
	sec, err := p.cs.CoreV1().Secrets(ns).Get(ctx, "backstage-env", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if string(sec.Data["backstage.HUMANITEC_TOKEN"]) != "backstage-orchestrator-token" {
		t.Errorf("the token in the workload's Secret = %q", sec.Data["backstage.HUMANITEC_TOKEN"])
	}
	pgHost := env["POSTGRES_HOST"].Value
	sts, err := p.cs.AppsV1().StatefulSets(ns).Get(ctx, pgHost, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("postgres StatefulSet %q: %v", pgHost, err)
	}
	if sts.Spec.Template.Spec.Containers[0].Image != "postgres:17-alpine" {
		t.Errorf("postgres image = %s", sts.Spec.Template.Spec.Containers[0].Image)
	}
	// /tmp is the ephemeral volume.
	var tmp *corev1.VolumeMount
	for i, m := range c.VolumeMounts {
		if m.MountPath == "/tmp" {
			tmp = &c.VolumeMounts[i]
		}
	}
	if tmp == nil {
		t.Fatalf("no /tmp mount: %+v", c.VolumeMounts)
	}
	vols := dep.Spec.Template.Spec.Volumes
	if i := slices.IndexFunc(vols, func(v corev1.Volume) bool { return v.Name == tmp.Name }); i < 0 || vols[i].EmptyDir == nil {
		t.Errorf("volume %s = %+v, want an emptyDir", tmp.Name, vols)
	}
	svc, err := p.cs.CoreV1().Services(ns).Get(ctx, "backstage", metav1.GetOptions{})
	if err != nil || svc.Spec.Ports[0].Port != 7007 {
		t.Fatalf("service: %v %+v", err, svc)
	}
	ings, err := p.cs.NetworkingV1().Ingresses(ns).List(ctx, metav1.ListOptions{})
	if err != nil || len(ings.Items) != 1 {
		t.Fatalf("ingresses: %v %d", err, len(ings.Items))
	}
	ing := ings.Items[0]
	rule := ing.Spec.Rules[0]
	if *ing.Spec.IngressClassName != "traefik" || rule.Host != host || rule.HTTP.Paths[0].Backend.Service.Name != "backstage" ||
		rule.HTTP.Paths[0].Backend.Service.Port.Number != 7007 || ing.Annotations["traefik.ingress.kubernetes.io/router.entrypoints"] != "websecure" {
		t.Errorf("ingress = %s %+v %v", *ing.Spec.IngressClassName, rule, ing.Annotations)
	}

	// A second deployment keeps the host and the database's credentials.
	p.deployScore(t, app, readFixture(t, "backstage/score.5min.yaml"), "localhost:5001/backstage:def5678")
	again := p.resources(t, app)
	if h := field(again["dns#modules.backstage.externals.dns"], "resource", "host"); h != host {
		t.Errorf("host after a redeploy = %v, want %s", h, host)
	}
	dep2, _ := p.cs.AppsV1().Deployments(ns).Get(ctx, "backstage", metav1.GetOptions{})
	if envOf(dep2.Spec.Template.Spec.Containers[0])["POSTGRES_HOST"].Value != pgHost {
		t.Errorf("postgres host changed on a redeploy")
	}
}

// The tutorial: the platform engineer's class, Terraform-made definition
// and criteria; then the developer's database of that class in a scaffolded
// app's score.yaml; then taking it out again.
func TestTutorialGoldenPaths(t *testing.T) {
	p := newPlatform(t)
	ctx := context.Background()
	app := "tut-podinfo-" + p.install
	p.must(201, "POST", orgPath("/apps"), map[string]any{"id": app, "name": app,
		"env": map[string]any{"id": humanitec.EnvID, "name": humanitec.EnvName, "type": humanitec.EnvTypeID}})
	p.apps = append(p.apps, app)
	ns := humanitec.Namespace(app, humanitec.EnvID)

	// Step 1: the class.
	p.must(200, "POST", orgPath("/resources/types/postgres/classes"), map[string]any{"id": "5min", "description": "Specifically to be used when using 5min IDP settings"})
	// Step 2: the resource pack's definition as Terraform makes it
	// (values_string is its definition-values.yaml as JSON), its criterion
	// from the example, then the tutorial's PUT of the criteria.
	var values map[string]any
	readYAML(t, filepath.Join(courseDir, "resource-packs-in-cluster/humanitec-resource-defs/postgres/basic/definition-values.yaml"), &values)
	defID := "hum-rp-postgres-ex-postgres"
	p.must(200, "POST", orgPath("/resources/defs"), map[string]any{"id": defID, "name": defID, "type": "postgres",
		"driver_type": "humanitec/template", "driver_inputs": map[string]any{"values": values}})
	p.must(200, "POST", orgPath("/resources/defs/", defID, "/criteria"), map[string]any{"class": "default"})
	crit := p.must(200, "PUT", orgPath("/resources/defs/", defID, "/criteria"), []any{map[string]any{"env_type": "5min-local", "class": "5min"}}).([]any)
	if len(crit) != 1 || field(crit[0], "class") != "5min" {
		t.Fatalf("criteria = %v", crit)
	}

	score := readFixture(t, "backstage-catalog-templates/5min-podinfo/content/score.yaml")
	p.deployScore(t, app, score, "localhost:5001/podinfo:1")
	if _, err := p.cs.AppsV1().Deployments(ns).Get(ctx, "podinfo-workload", metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}

	// Dev golden path: the three lines.
	var doc map[string]any
	if err := yaml.Unmarshal(score, &doc); err != nil {
		t.Fatal(err)
	}
	doc["resources"].(map[string]any)["database"] = map[string]any{"type": "postgres", "class": "5min"}
	withDB, _ := yaml.Marshal(doc)
	p.deployScore(t, app, withDB, "localhost:5001/podinfo:2")
	res := p.resources(t, app)
	db := res["postgres#modules.podinfo-workload.externals.database"]
	if field(db, "class") != "5min" || field(db, "def_id") != defID {
		t.Fatalf("database resource = %v, want class 5min from %s", db, defID)
	}
	stsName := "postgres-podinfo-workload-database"
	if _, err := p.cs.AppsV1().StatefulSets(ns).Get(ctx, stsName, metav1.GetOptions{}); err != nil {
		t.Fatalf("the resource pack's StatefulSet %s: %v", stsName, err)
	}
	if _, err := p.cs.CoreV1().Secrets(ns).Get(ctx, stsName, metav1.GetOptions{}); err != nil {
		t.Fatalf("the resource pack's Secret: %v", err)
	}

	// Without the database again, its objects are pruned.
	p.deployScore(t, app, score, "localhost:5001/podinfo:3")
	if _, err := p.cs.AppsV1().StatefulSets(ns).Get(ctx, stsName, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("StatefulSet %s after the database was removed: %v, want not found", stsName, err)
	}
	if _, ok := p.resources(t, app)["postgres#modules.podinfo-workload.externals.database"]; ok {
		t.Error("the database is still an active resource")
	}
}

// The other template asks for mysql, PocketIDP's own definition.
func TestDeployNodeServiceScore(t *testing.T) {
	p := newPlatform(t)
	ctx := context.Background()
	app := humanitec.AppID(p.install)
	ns := humanitec.Namespace(app, humanitec.EnvID)
	p.deployScore(t, app, readFixture(t, "backstage-catalog-templates/5min-node-service/content/score.yaml"), "localhost:5001/node:1")
	dep, err := p.cs.AppsV1().Deployments(ns).Get(ctx, "node-workload", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	env := envOf(dep.Spec.Template.Spec.Containers[0])
	var sts *appsv1.StatefulSet
	if sts, err = p.cs.AppsV1().StatefulSets(ns).Get(ctx, env["DB_HOST"].Value, metav1.GetOptions{}); err != nil {
		t.Fatalf("mysql StatefulSet %q: %v", env["DB_HOST"].Value, err)
	}
	if env["DB_PORT"].Value != "3306" || sts.Spec.Template.Spec.Containers[0].Image != "mysql:8.4" || env["DB_PASSWORD"].ValueFrom == nil {
		t.Errorf("DB_PORT=%q image=%s password=%+v", env["DB_PORT"].Value, sts.Spec.Template.Spec.Containers[0].Image, env["DB_PASSWORD"])
	}
}

// What a learner gets when a resource has no definition, or the image was
// never set.
func TestDeploymentErrorsSayWhatToDo(t *testing.T) {
	p := newPlatform(t)
	app := humanitec.AppID(p.install)
	env := orgPath("/apps/", app, "/envs/", humanitec.EnvID)
	for _, tc := range []struct {
		name, score, image, want string
	}{
		{"class without definition", "apiVersion: score.dev/v1b1\nmetadata: {name: w}\ncontainers: {c: {image: nginx}}\nresources: {db: {type: postgres, class: huge}}\n", "",
			`no resource definition of type postgres matches class huge`},
		{"image not set", "apiVersion: score.dev/v1b1\nmetadata: {name: w}\ncontainers: {c: {image: .}}\n", "", "has no image"},
		{"unknown output", "apiVersion: score.dev/v1b1\nmetadata: {name: w}\ncontainers: {c: {image: nginx, variables: {X: '${resources.dns.port}'}}}\nresources: {dns: {type: dns}}\n", "",
			"${externals.dns.port} names nothing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body, err := ScoreDelta([]byte(tc.score), humanitec.EnvID, tc.image)
			if err != nil {
				t.Fatal(err)
			}
			delta := p.must(200, "POST", orgPath("/apps/", app, "/deltas"), body)
			d := p.must(201, "POST", env+"/deploys", map[string]any{"delta_id": field(delta, "id")})
			id := field(d, "id").(string)
			if got := waitStatus(t, p.served, env+"/deploys/"+id); got["status"] != DeployFailed {
				t.Fatalf("status %v, want failed", got["status"])
			}
			errs := p.must(200, "GET", env+"/deploys/"+id+"/errors", nil).([]any)
			if len(errs) == 0 || !strings.Contains(fmt.Sprint(field(errs[0], "message")), tc.want) {
				t.Errorf("errors = %v, want one saying %q", errs, tc.want)
			}
		})
	}
}

// With an issuer, each route's host gets its own certificate, kept across
// deployments, that a client trusting the install's root accepts.
func TestRoutesGetTheirOwnCertificates(t *testing.T) {
	root, rootKey := testRoot(t)
	certPEM, keyPEM, err := NewIntermediate(root, rootKey, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	iss, err := LoadIssuer(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	p := newPlatform(t, EngineConfig{Issuer: iss})
	ctx := context.Background()
	app := humanitec.AppID(p.install)
	ns := humanitec.Namespace(app, humanitec.EnvID)
	score := readFixture(t, "backstage-catalog-templates/5min-podinfo/content/score.yaml")
	p.deployScore(t, app, score, "localhost:5001/podinfo:1")
	ings, err := p.cs.NetworkingV1().Ingresses(ns).List(ctx, metav1.ListOptions{})
	if err != nil || len(ings.Items) != 1 || len(ings.Items[0].Spec.TLS) != 1 {
		t.Fatalf("ingresses: %v %+v", err, ings)
	}
	tlsSpec := ings.Items[0].Spec.TLS[0]
	host := tlsSpec.Hosts[0]
	sec, err := p.cs.CoreV1().Secrets(ns).Get(ctx, tlsSpec.SecretName, metav1.GetOptions{})
	if err != nil || sec.Type != corev1.SecretTypeTLS {
		t.Fatalf("TLS secret: %v %v", err, sec)
	}
	if err := verify(root, sec.Data[corev1.TLSCertKey], host); err != nil {
		t.Errorf("the certificate for %s does not verify against the root: %v", host, err)
	}
	p.deployScore(t, app, score, "localhost:5001/podinfo:2")
	again, _ := p.cs.CoreV1().Secrets(ns).Get(ctx, tlsSpec.SecretName, metav1.GetOptions{})
	if string(again.Data[corev1.TLSCertKey]) != string(sec.Data[corev1.TLSCertKey]) {
		t.Error("a redeploy issued a new certificate for the same host")
	}
	// The certificate's key is never in the API's answers.
	if strings.Contains(fmt.Sprint(p.must(200, "GET", orgPath("/apps/", app, "/envs/", humanitec.EnvID, "/resources"), nil)), "PRIVATE KEY") {
		t.Error("active resources show a private key")
	}
}
