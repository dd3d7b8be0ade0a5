//go:build e2e

package cli

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	kindcluster "sigs.k8s.io/kind/pkg/cluster"
	"sigs.k8s.io/kind/pkg/cluster/nodeutils"

	"github.com/pocketidp/pocketidp/internal/bootstrap"
	"github.com/pocketidp/pocketidp/internal/doctor"
	"github.com/pocketidp/pocketidp/internal/state"
	"github.com/pocketidp/pocketidp/internal/testenv"
	"github.com/pocketidp/pocketidp/internal/tui"
)

// e2eImages is what scripts/e2e/images.sh built on a machine that cannot
// pull: POCKETIDP_E2E_IMAGES names its images.env. Without it the test
// expects a machine with the internet (upstream images and charts).
type e2eImages struct {
	// PlatformArchive is `docker save` of the platform's images, tagged as
	// the rendered manifests name them; loaded into the kind node.
	PlatformArchive string
	// DindArchive holds the images CI jobs run in (ubuntu-latest, busybox);
	// loaded into the runner's Docker daemon.
	DindArchive string
	// Kubectl is the kubectl built with the node image.
	Kubectl string
}

func readE2EImages(t *testing.T) (e2eImages, bool) {
	t.Helper()
	path := os.Getenv("POCKETIDP_E2E_IMAGES")
	if path == "" {
		return e2eImages{}, false
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("POCKETIDP_E2E_IMAGES: %v (run scripts/e2e/images.sh, or make e2e)", err)
	}
	kv := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			kv[k] = v
		}
	}
	im := e2eImages{PlatformArchive: kv["PLATFORM_ARCHIVE"], DindArchive: kv["DIND_ARCHIVE"], Kubectl: kv["KUBECTL"]}
	for _, f := range []string{im.PlatformArchive, im.DindArchive, im.Kubectl} {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("%s names a missing file: %v (run scripts/e2e/images.sh again)", path, err)
		}
	}
	return im, true
}

// loadIntoNode waits for the kind node of cluster name and loads archive
// into its containerd with kind's own loader (nodeutils.LoadImageArchive,
// what `kind load image-archive` runs), unless the node holds marker
// already. It runs beside `up`: the node must have the images before the
// charts' pods start. kind restarts the node's containerd while it writes
// its config, so a failed import is retried until ctx ends.
func loadIntoNode(ctx context.Context, name, archive, marker string) error {
	provider := kindcluster.NewProvider(kindcluster.ProviderWithDocker())
	var last error
	for {
		if last != nil && ctx.Err() != nil {
			return fmt.Errorf("load %s into %s: %w (last: %v)", archive, name, ctx.Err(), last)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("load %s into %s: %w (node never came up: %v)", archive, name, ctx.Err(), last)
		case <-time.After(time.Second):
		}
		nodes, err := provider.ListNodes(name)
		if err != nil || len(nodes) == 0 {
			last = fmt.Errorf("no node yet: %v", err)
			continue
		}
		n := nodes[0]
		var out bytes.Buffer
		if err := n.Command("ctr", "--namespace=k8s.io", "images", "ls", "-q").SetStdout(&out).Run(); err != nil {
			last = fmt.Errorf("containerd not answering: %w", err)
			continue
		}
		if strings.Contains(out.String(), marker) {
			return nil
		}
		f, err := os.Open(archive)
		if err != nil {
			return err
		}
		last = nodeutils.LoadImageArchive(n, f)
		f.Close()
		if last == nil {
			return nil
		}
	}
}

// TestEndToEnd runs the real thing: `up` creates the kind cluster and
// installs the platform; the tutorial's checks pass on
// https://git.localhost:8443 (the admin logs in, the org, the repository and
// the Actions variables are there); a workflow runs on the real runner,
// clones over HTTPS, builds an image in DinD and pushes it to
// localhost:5001, and a pod runs that image; the host pushes to
// localhost:5001 too; `up` again changes nothing; `status` is healthy;
// `up` killed with SIGKILL half-way converges when run again; `down` leaves
// no cluster, container or state. With HUMANITEC_ORG and HUMANITEC_TOKEN,
// `up --wait` follows the Backstage build until Backstage answers.
//
// `make e2e` runs it on this kind of machine, which cannot pull: there
// scripts/e2e builds every image from source and POCKETIDP_E2E_IMAGES says
// where they are.
func TestEndToEnd(t *testing.T) {
	eng, err := doctor.DetectEngine(context.Background(), doctor.System{})
	if err != nil {
		if testenv.InCI() {
			t.Fatalf("e2e needs a container engine: %v", err)
		}
		t.Skipf("no container engine here: %v", err)
	}
	images, offline := readE2EImages(t)
	// With HUMANITEC_ORG and HUMANITEC_TOKEN set, up registers with
	// Humanitec; without (the default), it installs PocketIDP's local
	// orchestrator, from a static build of this tree.
	withHumanitec := os.Getenv("HUMANITEC_ORG") != ""
	bin := staticBinary(t)
	dir := t.TempDir()
	stateDir := filepath.Join(dir, "state")
	// kind merges its context into $KUBECONFIG: keep the user's untouched.
	kubeconfig := filepath.Join(dir, "kubeconfig")
	t.Setenv("KUBECONFIG", kubeconfig)
	args := func(cmd ...string) []string {
		a := append(cmd, "--yes", "--state-dir", stateDir, "--log-file", filepath.Join(dir, "debug.log"), "--timeout", "25m")
		if !withHumanitec && cmd[0] == "up" {
			a = append(a, "--orchestrator-binary", bin)
		}
		if offline && cmd[0] == "up" {
			// No GitHub and no chart repositories here: the real charts
			// from ../shared/charts, and Backstage's offline fallback.
			a = append(a, "--chart-dir", chartDir(t),
				"--backstage-repo", "http://127.0.0.1:1/backstage.git", "--backstage-source", backstageSource(t))
		}
		return a
	}
	runArgs := func(args []string) string {
		t.Helper()
		var out, errb bytes.Buffer
		code := Run(context.Background(), Env{Args: args, Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
			Getenv: os.Getenv, Host: doctor.System{}})
		if code != 0 {
			t.Fatalf("pocketidp %v: exit %d\n%s\n%s", args, code, out.String(), errb.String())
		}
		return out.String()
	}
	run := func(cmd ...string) string { t.Helper(); return runArgs(args(cmd...)) }
	// up runs `up`, loading the platform's images into the node beside it
	// when they cannot be pulled.
	up := func(extra ...string) string {
		t.Helper()
		if !offline {
			return run(append([]string{"up"}, extra...)...)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
		defer cancel()
		loaded := make(chan error, 1)
		go func() {
			loaded <- loadIntoNode(ctx, "5min-idp", images.PlatformArchive, "docker.gitea.com/gitea:1.27.3-rootless")
		}()
		out := run(append([]string{"up"}, extra...)...)
		if err := <-loaded; err != nil {
			t.Fatalf("images: %v", err)
		}
		return out
	}
	t.Cleanup(func() {
		if _, err := os.Stat(filepath.Join(stateDir, "state.json")); err == nil {
			run("down")
		}
	})

	start := time.Now()
	up()
	t.Logf("figure: up from nothing to a ready platform: %s", time.Since(start).Round(time.Second))

	hc := ingressClient(t, stateDir)
	g := giteaAPI{t: t, hc: hc}
	var user struct{ Login string }
	g.do(http.MethodGet, "/api/v1/user", nil, http.StatusOK, &user)
	if user.Login != "5minadmin" {
		t.Errorf("logged in as %q, want 5minadmin", user.Login)
	}
	var org struct{ Visibility string }
	g.do(http.MethodGet, "/api/v1/orgs/5minorg", nil, http.StatusOK, &org)
	if org.Visibility != "public" {
		t.Errorf("5minorg visibility %q, want public", org.Visibility)
	}
	var repo struct {
		FullName string `json:"full_name"`
	}
	g.do(http.MethodGet, "/api/v1/repos/5minorg/backstage", nil, http.StatusOK, &repo)
	if repo.FullName != "5minorg/backstage" {
		t.Errorf("repository %q", repo.FullName)
	}
	var vars []struct{ Name, Data string }
	g.do(http.MethodGet, "/api/v1/orgs/5minorg/actions/variables", nil, http.StatusOK, &vars)
	found := map[string]string{}
	for _, v := range vars {
		found[v.Name] = v.Data
	}
	// The variables are for the Backstage workflow, which deploys through
	// Humanitec: with Humanitec skipped the org gets none (actions-config
	// says so).
	wantOrg := os.Getenv("HUMANITEC_ORG")
	if !withHumanitec {
		wantOrg = localAccessOf(t, stateDir).Org
	}
	if found["CLOUD_PROVIDER"] != "5min" || found["HUMANITEC_ORG_ID"] != wantOrg {
		t.Errorf("org Actions variables %v, want CLOUD_PROVIDER 5min and HUMANITEC_ORG_ID %s (Humanitec %v)", found, wantOrg, withHumanitec)
	}

	kube := kubeClient(t, kubeconfig)
	if offline {
		// The runner's Docker daemon cannot pull either: give it the job
		// image the way `docker load` does, before any job needs it.
		kubectl := func(stdin io.Reader, a ...string) string {
			t.Helper()
			cmd := exec.Command(images.Kubectl, append([]string{"--kubeconfig", kubeconfig}, a...)...)
			cmd.Stdin = stdin
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("kubectl %v: %v\n%s", a, err, out)
			}
			return string(out)
		}
		kubectl(nil, "-n", "gitea-runner", "wait", "--for=condition=Ready", "pod/runner-0", "--timeout=5m")
		f, err := os.Open(images.DindArchive)
		if err != nil {
			t.Fatal(err)
		}
		s := time.Now()
		kubectl(f, "-n", "gitea-runner", "exec", "-i", "runner-0", "-c", "dind", "--", "docker", "load")
		f.Close()
		t.Logf("job images loaded into the runner's DinD in %s", time.Since(s).Round(time.Second))
	}

	// A workflow on the real runner: clone over HTTPS through the ingress,
	// build in DinD, push to localhost:5001; then a pod pulls and runs it.
	s := time.Now()
	sha := g.pushWorkflowRepo("e2e-app")
	g.waitRun("5minorg/e2e-app", sha, 15*time.Minute)
	t.Logf("figure: workflow (clone, docker build, push) done in %s", time.Since(s).Round(time.Second))
	ref := "localhost:5001/e2e-app:" + sha
	if got := runPod(t, kube, "e2e-app", ref); !strings.Contains(got, "built-by-e2e "+sha) {
		t.Errorf("pod running %s printed %q, want %q", ref, got, "built-by-e2e "+sha)
	}
	if !withHumanitec {
		orchestratorGoldenPath(t, g, stateDir, kubeconfig, images.Kubectl, func(app string) string {
			return runArgs([]string{"graph", "--app", app, "--state-dir", stateDir})
		})
	}

	// From the host too: `docker push localhost:5001/...` reaches the
	// registry the cluster pulls from.
	if offline {
		for _, c := range [][]string{{"tag", "busybox:1.38.0", "localhost:5001/e2e-host:1"}, {"push", "localhost:5001/e2e-host:1"}} {
			if out, err := exec.Command(eng.Name, c...).CombinedOutput(); err != nil {
				t.Fatalf("%s %v: %v\n%s", eng.Name, c, err, out)
			}
		}
		resp, err := http.Get("http://127.0.0.1:5001/v2/e2e-host/tags/list")
		if err != nil {
			t.Fatalf("registry on the host's 5001: %v", err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"1"`) {
			t.Errorf("registry tags of e2e-host: %s %s", resp.Status, body)
		}
	}

	if withHumanitec {
		up("--wait")
		f, err := state.Read(stateDir)
		if err != nil {
			t.Fatal(err)
		}
		u := f.Values[bootstrap.ValueBackstageURL]
		resp, err := hc.Get(u)
		if err != nil {
			t.Fatalf("Backstage at %q: %v", u, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("Backstage at %s: %s", u, resp.Status)
		}
	}

	// Again: nothing to do but the checks. With Humanitec skipped,
	// actions-config and trigger run to say why they leave things as they
	// are: they must not write (the repository's head stays).
	type branch struct {
		Commit struct{ ID string } `json:"commit"`
	}
	var before, after branch
	g.do(http.MethodGet, "/api/v1/repos/5minorg/backstage/branches/main", nil, http.StatusOK, &before)
	s = time.Now()
	checks := map[string]bool{bootstrap.StepState: true, "gitea/ready": true, bootstrap.StepBackstageReady: true}
	if !withHumanitec {
		// The local orchestrator's checks: the nodes have its image (made
		// from the binary to know its digest), its API answers; and
		// Backstage, which the stand-in's workflow never deploys, is
		// looked for again.
		checks[bootstrap.StepOrchestratorImage], checks[bootstrap.StepOrchestratorReady], checks[bootstrap.StepBackstageRoute] = true, true, true
	}
	for step, kind := range statuses(t, up("-o", "json")) {
		if kind != bootstrap.Skipped && !checks[step] && !strings.HasPrefix(step, "doctor/") {
			t.Errorf("second up: step %s %s, want skipped", step, kind)
		}
	}
	t.Logf("figure: up again (no-op): %s", time.Since(s).Round(time.Second))
	g.do(http.MethodGet, "/api/v1/repos/5minorg/backstage/branches/main", nil, http.StatusOK, &after)
	if before.Commit.ID == "" || after.Commit.ID != before.Commit.ID {
		t.Errorf("second up moved 5minorg/backstage from %q to %q", before.Commit.ID, after.Commit.ID)
	}

	var st tui.Status
	// status takes only its own flags; it exits 1 when something is not
	// healthy, which runArgs reports.
	if err := json.Unmarshal([]byte(runArgs([]string{"status", "-o", "json", "--state-dir", stateDir})), &st); err != nil {
		t.Fatalf("status -o json: %v", err)
	}
	if !st.Installed || len(st.Components) == 0 {
		t.Errorf("status: %+v", st)
	}
	for _, c := range st.Components {
		if !withHumanitec && c.Name == "backstage" {
			continue // the stand-in Backstage's workflow only echoes: nothing is deployed
		}
		if c.Health != tui.Healthy {
			t.Errorf("status: %s is %s (%s)", c.Name, c.Health, c.Detail)
		}
	}
	for _, l := range st.URLs {
		if strings.Contains(l.URL, "git.localhost") && !l.Answers {
			t.Errorf("status: %s (%s) does not answer: %s", l.Name, l.URL, l.Answer)
		}
	}

	s = time.Now()
	run("down")
	t.Logf("figure: down: %s", time.Since(s).Round(time.Second))
	assertGone(t, eng.Name, stateDir)

	// SIGKILL in the middle of `up` (the charts are installing), then `up`
	// again converges to the same platform.
	if offline {
		killedUp(t, bin, args("up", "-o", "json"), images)
		s = time.Now()
		up()
		t.Logf("figure: up after a SIGKILL half-way: %s", time.Since(s).Round(time.Second))
		// A new install: a new CA.
		g.hc = ingressClient(t, stateDir)
		var v struct{ Version string }
		g.do(http.MethodGet, "/api/v1/version", nil, http.StatusOK, &v)
		if v.Version != "1.27.3" {
			t.Errorf("Gitea version after the converging up: %q", v.Version)
		}
		run("down")
		assertGone(t, eng.Name, stateDir)
	}
}

// ingressClient reaches the ingress as a browser on this machine does:
// *.localhost on loopback, trusting only the install's CA.
func ingressClient(t *testing.T, stateDir string) *http.Client {
	t.Helper()
	ca, err := os.ReadFile(filepath.Join(stateDir, "tls", "ca.crt"))
	if err != nil {
		t.Fatalf("local CA: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		t.Fatalf("no certificate in %s", filepath.Join(stateDir, "tls", "ca.crt"))
	}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			_, port, _ := net.SplitHostPort(addr)
			return (&net.Dialer{}).DialContext(ctx, network, net.JoinHostPort("127.0.0.1", port))
		},
	}}
}

// assertGone checks that `down` left no state, no node container and no
// kubeconfig context of the cluster.
func assertGone(t *testing.T, engine, stateDir string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(stateDir, "state.json")); !os.IsNotExist(err) {
		t.Errorf("state left after down: %v", err)
	}
	out, _ := exec.Command(engine, "ps", "-a", "--format", "{{.Names}}").Output()
	if strings.Contains(string(out), "5min-idp") {
		t.Errorf("container left after down:\n%s", out)
	}
	out, _ = exec.Command(engine, "network", "ls", "--format", "{{.Name}}").Output()
	t.Logf("networks after down (kind's own network is shared and stays):\n%s", out)
}

// killedUp runs `up` as its own process and kills it with SIGKILL once the
// charts are being installed (the cluster exists, nothing is finished).
func killedUp(t *testing.T, bin string, args []string, images e2eImages) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	loaded := make(chan error, 1)
	go func() {
		loaded <- loadIntoNode(ctx, "5min-idp", images.PlatformArchive, "docker.gitea.com/gitea:1.27.3-rootless")
	}()
	cmd := exec.Command(bin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	killed := false
	for sc.Scan() {
		var e bootstrap.Event
		if json.Unmarshal(sc.Bytes(), &e) == nil && e.Step == "charts/gitea" && e.Kind == bootstrap.Progress {
			time.Sleep(5 * time.Second)
			_ = cmd.Process.Kill()
			killed = true
			break
		}
	}
	_ = cmd.Wait()
	if !killed {
		t.Fatalf("up ended before the charts were installing: nothing was killed")
	}
	if err := <-loaded; err != nil {
		t.Fatalf("images: %v", err)
	}
	t.Logf("up killed with SIGKILL while installing the charts")
}

// staticBinary builds pocketidp as `make build` does (static, no cgo): the
// local orchestrator's image is made from it, and killedUp runs it.
func staticBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "pocketidp")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "github.com/pocketidp/pocketidp/cmd/pocketidp")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// chartDir is where the real chart archives are: ../shared/charts beside
// the worktree, or $POCKETIDP_CHART_DIR.
func chartDir(t *testing.T) string {
	t.Helper()
	d := os.Getenv("POCKETIDP_CHART_DIR")
	if d == "" {
		t.Fatalf("POCKETIDP_CHART_DIR is not set: point it at the chart archives (make e2e sets it)")
	}
	return d
}

func kubeClient(t *testing.T, kubeconfig string) kubernetes.Interface {
	t.Helper()
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: kubeconfig},
		&clientcmd.ConfigOverrides{CurrentContext: "kind-5min-idp"}).ClientConfig()
	if err != nil {
		t.Fatalf("kubeconfig %s: %v", kubeconfig, err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// runPod runs image once in the default namespace and returns its log.
func runPod(t *testing.T, cs kubernetes.Interface, name, image string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	pods := cs.CoreV1().Pods("default")
	_, err := pods.Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
			Containers: []corev1.Container{{Name: name, Image: image, ImagePullPolicy: corev1.PullAlways}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create pod %s: %v", name, err)
	}
	for {
		p, err := pods.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("pod %s: %v", name, err)
		}
		switch p.Status.Phase {
		case corev1.PodSucceeded:
			b, err := pods.GetLogs(name, &corev1.PodLogOptions{}).DoRaw(ctx)
			if err != nil {
				t.Fatalf("logs of %s: %v", name, err)
			}
			return string(b)
		case corev1.PodFailed:
			t.Fatalf("pod %s failed: %+v", name, p.Status)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("pod %s running %s never finished: %+v", name, image, p.Status)
		case <-time.After(2 * time.Second):
		}
	}
}

// giteaAPI calls Gitea through the ingress as the tutorial's admin.
type giteaAPI struct {
	t  *testing.T
	hc *http.Client
}

func (g giteaAPI) do(method, path string, body any, want int, out any) {
	g.t.Helper()
	req := jsonRequest(g.t, method, "https://git.localhost:8443"+path, body)
	req.SetBasicAuth("5minadmin", "5minadmin")
	callJSON(g.t, g.hc, req, want, out)
}

// jsonRequest is a request with body (when not nil) as JSON.
func jsonRequest(t *testing.T, method, url string, body any) *http.Request {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	return req
}

// callJSON sends req, fails unless the answer has status want, and decodes
// it into out (a *string takes the body as it is).
func callJSON(t *testing.T, hc *http.Client, req *http.Request, want int, out any) {
	t.Helper()
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %s, want %d: %s", req.Method, req.URL.Path, resp.Status, want, b)
	}
	if out == nil {
		return
	}
	if s, ok := out.(*string); ok {
		*s = string(b)
	} else if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
}

// e2eWorkflow clones its own repository over HTTPS (git trusts PocketIDP's
// CA through the runner's GIT_CONFIG_* variables), builds the Dockerfile
// with the runner's DinD and pushes the image to localhost:5001. No
// `uses:`: actions come from GitHub, which this machine cannot reach.
const e2eWorkflow = `name: e2e
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - name: clone over https
        run: git clone https://git.localhost:8443/${{ github.repository }}.git src && git -C src log -1 --format=%H
      - name: build and push
        run: |
          cd src
          echo "built-by-e2e ${{ github.sha }}" > msg
          docker build -t localhost:5001/e2e-app:${{ github.sha }} .
          docker push localhost:5001/e2e-app:${{ github.sha }}
`

// pushRepo makes 5minorg/<name> with files (path to content) in one commit
// (a push event) and returns that commit.
func (g giteaAPI) pushRepo(name, message string, files map[string]string) string {
	g.t.Helper()
	g.do(http.MethodPost, "/api/v1/orgs/5minorg/repos", map[string]any{"name": name, "auto_init": true, "default_branch": "main"}, http.StatusCreated, nil)
	var ops []map[string]string
	for path, content := range files {
		ops = append(ops, map[string]string{"operation": "create", "path": path, "content": base64.StdEncoding.EncodeToString([]byte(content))})
	}
	var res struct {
		Commit struct{ SHA string } `json:"commit"`
	}
	g.do(http.MethodPost, "/api/v1/repos/5minorg/"+name+"/contents", map[string]any{
		"branch": "main", "message": message, "files": ops,
	}, http.StatusCreated, &res)
	if res.Commit.SHA == "" {
		g.t.Fatalf("no commit from the contents API")
	}
	return res.Commit.SHA
}

// pushWorkflowRepo makes 5minorg/<name> with the e2e workflow and a
// Dockerfile.
func (g giteaAPI) pushWorkflowRepo(name string) string {
	g.t.Helper()
	return g.pushRepo(name, "e2e: workflow", map[string]string{
		".gitea/workflows/e2e.yaml": e2eWorkflow,
		"Dockerfile":                "FROM busybox:1.38.0\nCOPY msg /msg\nCMD [\"cat\", \"/msg\"]\n",
	})
}

// waitRun waits for the Actions run of commit sha in repo to finish, and
// fails with its jobs' logs unless it succeeded.
func (g giteaAPI) waitRun(repo, sha string, timeout time.Duration) {
	g.t.Helper()
	deadline := time.Now().Add(timeout)
	type run struct {
		ID         int64  `json:"id"`
		Status     string `json:"status"`
		Conclusion string `json:"conclusion"`
		HeadSHA    string `json:"head_sha"`
	}
	last := "no run yet"
	for time.Now().Before(deadline) {
		var runs struct {
			WorkflowRuns []run `json:"workflow_runs"`
		}
		g.do(http.MethodGet, "/api/v1/repos/"+repo+"/actions/runs", nil, http.StatusOK, &runs)
		for _, r := range runs.WorkflowRuns {
			if r.HeadSHA != sha {
				continue
			}
			last = r.Status + "/" + r.Conclusion
			if r.Status != "completed" {
				continue
			}
			if r.Conclusion != "success" {
				g.t.Fatalf("workflow run %d of %s: %s\n%s", r.ID, repo, r.Conclusion, g.jobLogs(repo, r.ID))
			}
			return
		}
		time.Sleep(5 * time.Second)
	}
	g.t.Fatalf("workflow of %s at %s not finished in %s (last: %s); is the runner registered and idle?", repo, sha, timeout, last)
}

func (g giteaAPI) jobLogs(repo string, runID int64) string {
	var jobs struct {
		Jobs []struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		} `json:"jobs"`
	}
	g.do(http.MethodGet, fmt.Sprintf("/api/v1/repos/%s/actions/runs/%d/jobs", repo, runID), nil, http.StatusOK, &jobs)
	var b strings.Builder
	for _, j := range jobs.Jobs {
		var log string
		g.do(http.MethodGet, fmt.Sprintf("/api/v1/repos/%s/actions/jobs/%d/logs", repo, j.ID), nil, http.StatusOK, &log)
		fmt.Fprintf(&b, "--- job %s ---\n%s\n", j.Name, log)
	}
	return b.String()
}
