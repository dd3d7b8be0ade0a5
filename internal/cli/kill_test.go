package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	sdk "code.gitea.io/sdk/gitea"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pocketidp/pocketidp/internal/bootstrap"
	"github.com/pocketidp/pocketidp/internal/humanitec/humanitectest"
)

// The child mode of this test binary (TestMain): childEnv selects it, and
// the child's test bed comes in the variables below, read by the child
// alone.
const (
	childEnv          = "POCKETIDP_CLI_TEST_CHILD"
	childGiteaURLEnv  = "POCKETIDP_CLI_TEST_GITEA_URL"
	childHooksOnlyEnv = "POCKETIDP_CLI_TEST_HOOKS_ONLY"
)

// runChild runs the CLI as cmd/pocketidp does, on the process's arguments
// and environment, with the test bed of the variables above.
func runChild() int {
	env := OSEnv(false, false)
	env.bed = testBed{giteaURL: os.Getenv(childGiteaURLEnv), hooksOnly: os.Getenv(childHooksOnlyEnv) == "1"}
	return Run(context.Background(), env)
}

// childCommand runs pocketidp with args as a process of its own: this test
// binary in its child mode, on the bed.
func (b *bed) childCommand(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	tb := b.testBed()
	cmd.Env = append(cmd.Env, childGiteaURLEnv+"="+tb.giteaURL)
	if tb.hooksOnly {
		cmd.Env = append(cmd.Env, childHooksOnlyEnv+"=1")
	}
	for k, v := range b.env() {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	return cmd
}

// TestKilledUpResumesWithoutDuplicates kills `up` with SIGKILL (no chance to
// save or clean up) at several points, runs it again each time, and checks
// that the install converges with every object existing once.
func TestKilledUpResumesWithoutDuplicates(t *testing.T) {
	b := newBed(t)
	// Each point is an event after which the process dies: mid chart
	// install, mid Gitea seed, mid Humanitec registration. The first three
	// follow one another in the plan (tls before Traefik before Gitea's
	// readiness before the org before the repository), so each comes in a
	// run of its own whatever the machine's load; the last two run beside
	// them and may be done, and skipped, by then.
	points := []struct {
		step string
		kind bootstrap.Kind
	}{
		{"tls", bootstrap.Done},
		{"gitea/org", bootstrap.Done},
		{"gitea/backstage-repo", bootstrap.Started},
		{"humanitec/env-type", bootstrap.Done},
		{"charts/gitea", bootstrap.Started},
	}
	kills := 0
	for _, p := range points {
		cmd := b.childCommand(b.args("up", "--yes", "-o", "json")...)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		killed := false
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var e bootstrap.Event
			if json.Unmarshal(sc.Bytes(), &e) == nil && e.Step == p.step && e.Kind == p.kind {
				_ = cmd.Process.Signal(syscall.SIGKILL)
				killed = true
				kills++
				break
			}
		}
		_ = cmd.Wait()
		if !killed {
			// The step was already done from an earlier run and skipped:
			// the run finished before the point came.
			t.Logf("%s %s never came (skipped): run finished", p.step, p.kind)
		}
	}

	if kills < 3 {
		t.Fatalf("only %d of %d runs were killed: the kill points came too late", kills, len(points))
	}
	r := b.run(t, "up", "--yes", "-o", "json")
	if r.code != 0 {
		t.Fatalf("up after the kills: exit %d\n%s\n%s", r.code, r.stderr, r.stdout)
	}
	b.hum.ResetCalls()
	if r := b.run(t, "up", "--yes", "-o", "json"); r.code != 0 {
		t.Fatalf("converged up: exit %d: %s", r.code, r.stderr)
	}
	if w := b.hum.Writes(); len(w) != 0 {
		t.Errorf("a converged up still wrote to Humanitec: %+v", w)
	}

	// No duplicates: one repository in the org, one deployed revision per
	// release, each Humanitec object once (the fake refuses duplicate ids,
	// so count the apps).
	repos, _, err := b.giteaAdmin(t).ListOrgRepos("5minorg", sdk.ListOrgReposOptions{})
	if err != nil || len(repos) != 1 || repos[0].Name != "backstage" {
		t.Errorf("repos of 5minorg: %v %v", names(repos), err)
	}
	cs, _ := b.kube.Clientset()
	secs, err := cs.CoreV1().Secrets("").List(context.Background(), metav1.ListOptions{LabelSelector: "owner=helm,status=deployed"})
	if err != nil {
		t.Fatal(err)
	}
	deployed := map[string]int{}
	for _, s := range secs.Items {
		deployed[s.Namespace+"/"+s.Labels["name"]]++
	}
	if len(deployed) < 5 {
		t.Errorf("deployed releases: %v", deployed)
	}
	for rel, n := range deployed {
		if n != 1 {
			t.Errorf("release %s has %d deployed revisions", rel, n)
		}
	}
	apps := 0
	for _, o := range b.hum.Objects(humanitectest.DefaultOrg) {
		if strings.HasPrefix(o, "app/") {
			apps++
		}
	}
	if apps != 2 {
		t.Errorf("Humanitec apps: %d, want 2: %v", apps, b.hum.Objects(humanitectest.DefaultOrg))
	}
}

func names(rs []*sdk.Repository) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Name)
	}
	return out
}
