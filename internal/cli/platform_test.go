package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	sdk "code.gitea.io/sdk/gitea"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pocketidp/pocketidp/internal/bootstrap"
	"github.com/pocketidp/pocketidp/internal/doctor/doctortest"
	"github.com/pocketidp/pocketidp/internal/humanitec"
	"github.com/pocketidp/pocketidp/internal/humanitec/humanitectest"
	"github.com/pocketidp/pocketidp/internal/state"
	"github.com/pocketidp/pocketidp/internal/testenv"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		// A child of a test that needs `pocketidp` as a process of its
		// own (kill_test.go): this binary runs the CLI, not the tests.
		os.Exit(runChild())
	}
	testenv.Main(m)
}

// bed is the test bed of a whole run in existing-cluster mode: a real API
// server (no pods run: charts install without waiting for them), a real
// Gitea standing in for the in-cluster one (both through Env.bed), the
// Humanitec fake, and the real Traefik and Gitea charts as local archives
// (--chart-dir).
type bed struct {
	kube     *testenv.Cluster
	gitea    *testenv.GiteaServer
	hum      *humanitectest.Server
	chartDir string
	dir      string
	source   string
	// envOver replaces variables of env for a test's runs.
	envOver map[string]string
}

func newBed(t testing.TB) *bed {
	t.Helper()
	b := &bed{kube: testenv.APIServer(t), gitea: testenv.Gitea(t), hum: humanitectest.New(t), dir: t.TempDir()}
	// The real Traefik and Gitea charts; Humanitec's agent chart cannot be
	// read here, so a stand-in; the registry and runner charts are built in.
	agent, err := filepath.Abs(filepath.Join("..", "charts", "testdata", "charts", "humanitec-agent"))
	if err != nil {
		t.Fatal(err)
	}
	b.chartDir = testenv.ChartRepo(t, agent).Dir
	upstream := filepath.Join("..", "charts", "testdata", "upstream")
	archives, err := filepath.Glob(filepath.Join(upstream, "*.tgz"))
	if err != nil || len(archives) == 0 {
		t.Fatalf("no real chart archives in %s: %v", upstream, err)
	}
	for _, a := range archives {
		data, err := os.ReadFile(a)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(b.chartDir, filepath.Base(a)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// The cluster's CoreDNS, as kind ships it: the coredns step edits it.
	cs, err := b.kube.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	_, err = cs.CoreV1().ConfigMaps("kube-system").Create(context.Background(), &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "coredns", Namespace: "kube-system"},
		Data:       map[string]string{"Corefile": ".:53 {\n    errors\n    health\n    kubernetes cluster.local in-addr.arpa ip6.arpa {\n       pods insecure\n       fallthrough in-addr.arpa ip6.arpa\n    }\n    forward . /etc/resolv.conf\n    cache 30\n    loop\n    reload\n}\n"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b.source = backstageSource(t)
	return b
}

// backstageSource is a local clone of a Backstage stand-in: GitHub cannot be
// reached here, so Gitea's migration fails and PocketIDP pushes this instead.
func backstageSource(t testing.TB) string {
	dir := t.TempDir()
	r, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{InitOptions: git.InitOptions{DefaultBranch: plumbing.Main}})
	if err != nil {
		t.Fatal(err)
	}
	for p, c := range map[string]string{
		"README.md":                     "# Backstage\n",
		".github/workflows/deploy.yaml": "name: Deploy Backstage\non: push\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ vars.HUMANITEC_APP_ID }}\n",
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	wt, _ := r.Worktree()
	if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := wt.Commit("Backstage app", &git.CommitOptions{Author: &object.Signature{Name: "t", Email: "t@example.test", When: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// args are the bed's flags for cmd: each command takes only its own.
func (b *bed) args(cmd ...string) []string {
	state := []string{"--state-dir", filepath.Join(b.dir, "state")}
	run := append(state, "--log-file", filepath.Join(b.dir, "debug.log"), "--timeout", "5m")
	cluster := []string{"--kubeconfig", b.kube.KubeconfigPath, "--context", testenv.KubeContext}
	switch cmd[0] {
	case "status":
		return append(cmd, state...)
	case "down":
		return slices.Concat(cmd, cluster, run)
	}
	return slices.Concat(cmd, cluster, run, []string{
		"--chart-dir", b.chartDir,
		// Unreachable on purpose: the offline fallback pushes --backstage-source.
		"--backstage-repo", "http://127.0.0.1:1/backstage.git", "--backstage-source", b.source,
	})
}

// testBed is what the bed's runs need of the CLI: its Gitea, and no
// waiting for pods.
func (b *bed) testBed() testBed { return testBed{giteaURL: b.gitea.URL, hooksOnly: true} }

func (b *bed) env() map[string]string {
	env := map[string]string{
		"HUMANITEC_ORG": humanitectest.DefaultOrg, "HUMANITEC_TOKEN": humanitectest.DefaultToken,
		"HUMANITEC_API_URL": b.hum.URL,
	}
	maps.Copy(env, b.envOver)
	return env
}

// installID reads the install id from the bed's state.
func (b *bed) installID(t testing.TB) string {
	t.Helper()
	f, err := state.Read(filepath.Join(b.dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	return f.InstallID
}

// giteaAdmin is a client of the bed's Gitea as its admin.
func (b *bed) giteaAdmin(t testing.TB) *sdk.Client {
	t.Helper()
	g, err := sdk.NewClient(b.gitea.URL, sdk.SetBasicAuth(b.gitea.AdminUser, b.gitea.AdminPassword))
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func (b *bed) run(t testing.TB, cmd ...string) result {
	t.Helper()
	return b.runOn(t, false, "", cmd...)
}

// runOn runs the CLI as on a terminal (tty) when asked, typing stdin.
func (b *bed) runOn(t testing.TB, tty bool, stdin string, cmd ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	env := b.env()
	code := Run(context.Background(), Env{
		Args: b.args(cmd...), Stdin: iotest.OneByteReader(strings.NewReader(stdin)), Stdout: &out, Stderr: &errb,
		Getenv: func(k string) string { return env[k] }, Host: doctortest.Healthy(), IsTTY: tty, StdinTTY: tty,
		bed: b.testBed(),
	})
	return result{code, out.String(), errb.String()}
}

// statuses reads the -o json event stream: the last status of each step.
func statuses(t testing.TB, stdout string) map[string]bootstrap.Kind {
	t.Helper()
	got := map[string]bootstrap.Kind{}
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var e bootstrap.Event
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("not a JSON event: %q", line)
		}
		if e.Kind != bootstrap.Log && e.Kind != bootstrap.Progress && e.Kind != StatusResult {
			got[e.Step] = e.Kind
		}
	}
	return got
}

func TestUpConvergesAndDownRemovesEverything(t *testing.T) {
	b := newBed(t)
	r := b.run(t, "up", "--yes", "-o", "json")
	if r.code != 0 {
		t.Fatalf("up exit %d\nstderr: %s\nstdout: %s", r.code, r.stderr, r.stdout)
	}
	st := statuses(t, r.stdout)
	for _, step := range []string{"state", "cluster", "tls", "coredns", "charts/traefik", "charts/gitea", "charts/registry",
		"charts/runner", "charts/agent", "gitea/org", "gitea/backstage-repo", "gitea/actions-config", "gitea/trigger",
		"humanitec/env-type", "humanitec/apps", "humanitec/definitions", "humanitec/agent"} {
		if st[step] != bootstrap.Done && st[step] != bootstrap.Skipped {
			t.Errorf("step %s ended %q", step, st[step])
		}
	}
	id := b.installID(t)

	// The end state, read back from the real servers.
	g := b.giteaAdmin(t)
	if _, _, err := g.GetOrg("5minorg"); err != nil {
		t.Errorf("org 5minorg: %v", err)
	}
	if _, _, err := g.GetFile("5minorg", "backstage", "main", "README.md"); err != nil {
		t.Errorf("backstage README: %v", err)
	}
	vars, _, err := g.ListOrgActionVariable("5minorg", sdk.ListOrgActionVariableOption{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"CLOUD_PROVIDER": "5min", "HUMANITEC_ORG_ID": humanitectest.DefaultOrg, "HUMANITEC_APP_ID": humanitec.BackstageAppID(id)}
	for _, v := range vars {
		if w, ok := want[v.Name]; ok && w == v.Data {
			delete(want, v.Name)
		}
	}
	if len(want) != 0 {
		t.Errorf("org variables missing or wrong: %v (have %+v)", want, vars)
	}
	objs := b.hum.Objects(humanitectest.DefaultOrg)
	for _, o := range []string{humanitec.AppID(id), humanitec.BackstageAppID(id), humanitec.AgentID(id)} {
		if !slices.ContainsFunc(objs, func(s string) bool { return strings.HasSuffix(s, "/"+o) }) {
			t.Errorf("Humanitec has no %s: %v", o, objs)
		}
	}
	cs, _ := b.kube.Clientset()
	sec, err := cs.CoreV1().Secrets("traefik").Get(context.Background(), "pocketidp-tls", metav1.GetOptions{})
	if err != nil || len(sec.Data["tls.crt"]) == 0 {
		t.Errorf("TLS secret: %v", err)
	}

	// A second run converges: every step skipped or re-checked, no write
	// to Humanitec, the same Gitea content.
	b.hum.ResetCalls()
	r = b.run(t, "up", "--yes", "-o", "json")
	if r.code != 0 {
		t.Fatalf("second up exit %d: %s", r.code, r.stderr)
	}
	for step, kind := range statuses(t, r.stdout) {
		if kind == bootstrap.Failed {
			t.Errorf("second up: %s failed", step)
		}
	}
	if w := b.hum.Writes(); len(w) != 0 {
		t.Errorf("second up wrote to Humanitec: %+v", w)
	}

	r = b.run(t, "down", "--yes", "-o", "json")
	if r.code != 0 {
		t.Fatalf("down exit %d\nstderr: %s\nstdout: %s", r.code, r.stderr, r.stdout)
	}
	if _, err := os.Stat(filepath.Join(b.dir, "state", "state.json")); !os.IsNotExist(err) {
		t.Errorf("state file after down: %v", err)
	}
	if _, resp, err := g.GetOrg("5minorg"); err == nil || resp == nil || resp.StatusCode != 404 {
		t.Errorf("org 5minorg still there after down (%v)", err)
	}
	for _, o := range b.hum.Objects(humanitectest.DefaultOrg) {
		if strings.Contains(o, id) {
			t.Errorf("Humanitec object of the install left after down: %s", o)
		}
	}
	if _, err := cs.CoreV1().Secrets("traefik").Get(context.Background(), "pocketidp-tls", metav1.GetOptions{}); err == nil {
		t.Error("TLS secret left after down")
	}
}

// TestUpWrongTokenCreatesNothing: SPEC §5, a wrong Humanitec token is
// checked first with one read call and nothing is created: no namespace in
// the cluster, no org in Gitea, no object in Humanitec, no agent key.
func TestUpWrongTokenCreatesNothing(t *testing.T) {
	b := newBed(t)
	b.envOver = map[string]string{"HUMANITEC_TOKEN": "hum-not-a-token"}
	cs, err := b.kube.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	namespaces := func() []string {
		list, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, n := range list.Items {
			names = append(names, n.Name)
		}
		return names
	}
	before := namespaces()

	r := b.run(t, "up", "--yes", "-o", "json")
	if r.code != 2 {
		t.Fatalf("up exit %d, want 2 (bad input)\nstderr: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "HUMANITEC_TOKEN") {
		t.Errorf("stderr does not name the fix:\n%s", r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, "hum-not-a-token") {
		t.Error("the token was printed")
	}
	for step, kind := range statuses(t, r.stdout) {
		if step != "state" && step != "humanitec/check" && !strings.HasPrefix(step, "doctor/") {
			t.Errorf("step %s ran (%s) although the token was refused", step, kind)
		}
	}
	if after := namespaces(); !slices.Equal(after, before) {
		t.Errorf("namespaces %v, were %v", after, before)
	}
	if _, _, err := b.giteaAdmin(t).GetOrg("5minorg"); err == nil {
		t.Error("org 5minorg was created")
	}
	if w := b.hum.Writes(); len(w) != 0 {
		t.Errorf("Humanitec writes: %+v", w)
	}
	if _, err := os.Stat(filepath.Join(b.dir, "state", humanitec.AgentKeyFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("agent key: %v, want none", err)
	}
	// Checked among the pre-flight checks: not even the state is written.
	if _, err := os.Stat(filepath.Join(b.dir, "state", "state.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state.json: %v, want none", err)
	}
}

// TestAccessibleTerminal: on a terminal with TERM=dumb, `up` and `down` ask
// with plain prompts (huh's accessible mode) and then report in plain lines,
// with no escape codes; they do not turn headless and refuse.
func TestAccessibleTerminal(t *testing.T) {
	b := newBed(t)
	b.envOver = map[string]string{"TERM": "dumb"}
	// Org and token as the environment gives them, keep the settings,
	// create.
	r := b.runOn(t, true, "\n\ny\ny\n", "up")
	checkPlain(t, "up", r, "Humanitec org id", "Create the platform?", "gitea/trigger", "https://git.localhost:8443")
	if _, err := state.Read(filepath.Join(b.dir, "state")); err != nil {
		t.Fatalf("no state after up: %v", err)
	}

	// Keep the preselection (everything this install made), confirm.
	r = b.runOn(t, true, "0\ny\n", "down")
	checkPlain(t, "down", r, "What should be removed?", "Gitea content: what PocketIDP made in Gitea (org 5minorg", "Remove ", "removed")
	if _, err := state.Read(filepath.Join(b.dir, "state")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state after down: %v, want none", err)
	}
}

// checkPlain wants cmd to have succeeded with output that says each of
// wants and holds no escape code.
func checkPlain(t *testing.T, cmd string, r result, wants ...string) {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("%s exit %d\nstderr: %s\nstdout: %s", cmd, r.code, r.stderr, r.stdout)
	}
	for _, want := range wants {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("%s's output lacks %q:\n%s", cmd, want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "\x1b") {
		t.Errorf("%s's output has escape codes:\n%q", cmd, r.stdout)
	}
}

// TestDownHumanitecCredentials: `down` checks Humanitec first, so a missing
// or dead token removes nothing; --skip-humanitec removes the rest and keeps
// the state that lists the Humanitec objects, for a later `down` with a
// token to finish.
func TestDownHumanitecCredentials(t *testing.T) {
	b := newBed(t)
	if r := b.run(t, "up", "--yes"); r.code != 0 {
		t.Fatalf("up exit %d\nstderr: %s", r.code, r.stderr)
	}
	id := b.installID(t)
	g := b.giteaAdmin(t)
	orgExists := func() bool { _, _, err := g.GetOrg("5minorg"); return err == nil }
	humObjects := func() (n int) {
		for _, o := range b.hum.Objects(humanitectest.DefaultOrg) {
			if strings.Contains(o, id) {
				n++
			}
		}
		return n
	}
	before := humObjects()
	if before == 0 {
		t.Fatal("up made no Humanitec objects of the install")
	}

	for _, tt := range []struct{ name, token, want string }{
		{"no token", "", "HUMANITEC_TOKEN is not set; nothing was removed"},
		{"a dead token", "hum-expired-long-ago", "Humanitec does not accept the token"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b.envOver = map[string]string{"HUMANITEC_TOKEN": tt.token}
			r := b.run(t, "down", "--yes")
			if r.code != 2 {
				t.Fatalf("down exit %d, want 2\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stderr, tt.want) || !strings.Contains(r.stderr, "--skip-humanitec") {
				t.Errorf("stderr does not say %q and name --skip-humanitec:\n%s", tt.want, r.stderr)
			}
			if !orgExists() || humObjects() != before {
				t.Error("down removed something although it stopped at the check")
			}
		})
	}

	b.envOver = map[string]string{"HUMANITEC_TOKEN": ""}
	r := b.run(t, "down", "--yes", "--skip-humanitec")
	if r.code != 0 {
		t.Fatalf("down --skip-humanitec exit %d\nstderr: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "except this install's Humanitec objects") {
		t.Errorf("down --skip-humanitec does not say what it left:\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, "Removing:\n") || !strings.Contains(r.stdout, "      org 5minorg\n") ||
		strings.Contains(r.stdout, "Humanitec objects of this install:") {
		t.Errorf("down --skip-humanitec does not list what it removes, or lists Humanitec's:\n%s", r.stdout)
	}
	if orgExists() {
		t.Error("org 5minorg left by down --skip-humanitec")
	}
	if humObjects() != before {
		t.Errorf("Humanitec objects %d, want the %d left in place", humObjects(), before)
	}
	if _, err := state.Read(filepath.Join(b.dir, "state")); err != nil {
		t.Fatalf("the state that lists the Humanitec objects is gone: %v", err)
	}

	b.envOver = nil
	if r := b.run(t, "down", "--yes"); r.code != 0 {
		t.Fatalf("down with the token exit %d\nstderr: %s", r.code, r.stderr)
	}
	if n := humObjects(); n != 0 {
		t.Errorf("%d Humanitec objects of the install left after the second down", n)
	}
	if _, err := state.Read(filepath.Join(b.dir, "state")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state after the second down: %v, want none", err)
	}
}
