package gitea

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	sdk "code.gitea.io/sdk/gitea"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/pocketidp/pocketidp/internal/secret"
	"github.com/pocketidp/pocketidp/internal/testenv"
)

// buildWorkflow is a workflow like the course's: one job on push to main.
const buildWorkflow = `name: Build
on:
  push:
    branches: [main]
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - name: Check out
        run: echo checkout
      - name: Compile
        run: echo compile
      - name: Push image
        run: echo push
`

var buildSteps = []string{"Check out", "Compile", "Push image"}

// buildRepo creates the fixture's org and Backstage repository, adds the
// workflow when withWorkflow, and makes the trigger commit with the Seeder.
// It returns the trigger commit and the commit that added the workflow
// (which starts a run of its own).
func buildRepo(t *testing.T, f *fixture, withWorkflow bool) (trigger, workflowCommit string) {
	t.Helper()
	ctx := context.Background()
	org := f.cfg.Org
	if _, _, err := f.admin.CreateOrg(sdk.CreateOrgOption{Name: org, Visibility: sdk.VisibleTypePublic}); err != nil {
		t.Fatalf("create org: %v", err)
	}
	// Gitea makes a push's runs from the branch head at the time it handles
	// the push, not from the pushed commit: a push handled late lends its
	// run to the commit after it. So the workflow repository starts empty,
	// its first push adding the workflow, and the trigger comes only once
	// that push is handled: then each commit has exactly one run.
	if _, _, err := f.admin.CreateOrgRepo(org, sdk.CreateRepoOption{Name: DefaultRepo, DefaultBranch: "main", AutoInit: !withWorkflow, Readme: "Default"}); err != nil {
		t.Fatalf("create repo: %v", err)
	}
	// Actions on from the start (Trigger would turn them on only for the
	// commit after the workflow's): both commits get a run.
	on := true
	if _, _, err := f.admin.EditRepo(org, DefaultRepo, sdk.EditRepoOption{HasActions: &on}); err != nil {
		t.Fatalf("turn on Actions: %v", err)
	}
	if withWorkflow {
		workflowCommit = addWorkflow(t, f)
		waitBuild(t, f.seeder(), workflowCommit, "found", func(_ Build, found bool) bool { return found })
	}
	if err := f.seeder().Trigger(ctx); err != nil {
		t.Fatalf("trigger: %v\n%s", err, f.logs)
	}
	trigger = f.store.Value(KeyTriggerCommit)
	if trigger == "" || trigger == workflowCommit {
		t.Fatalf("trigger commit %q (workflow commit %q)", trigger, workflowCommit)
	}
	return trigger, workflowCommit
}

func addWorkflow(t *testing.T, f *fixture) string {
	t.Helper()
	fr, _, err := f.admin.CreateFile(f.cfg.Org, DefaultRepo, ".gitea/workflows/build.yaml", sdk.CreateFileOptions{
		FileOptions: sdk.FileOptions{Message: "Add the build workflow", BranchName: "main"},
		Content:     base64.StdEncoding.EncodeToString([]byte(buildWorkflow)),
	})
	if err != nil {
		t.Fatalf("add workflow: %v", err)
	}
	return fr.Commit.SHA
}

// repoRunner starts a test runner registered to the fixture's repository
// only, so the tests sharing the Gitea keep their jobs apart.
func repoRunner(t *testing.T, f *fixture, outcome func(testenv.RunnerTask) testenv.TaskOutcome) *testenv.Runner {
	t.Helper()
	tok, _, err := f.admin.CreateRepoActionRunnerRegistrationToken(f.cfg.Org, DefaultRepo)
	if err != nil {
		t.Fatalf("repository runner registration token: %v", err)
	}
	return testenv.ActionsRunner(t, testenv.RunnerOptions{GiteaURL: f.g.URL, RegistrationToken: tok.Token, Outcome: outcome})
}

// waitBuild polls Build until done says so, and fails the test with the
// last answer when it does not within a minute.
func waitBuild(t *testing.T, s *Seeder, commit, what string, done func(Build, bool) bool) Build {
	t.Helper()
	var (
		b       Build
		found   bool
		lastErr error
	)
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		b, found, lastErr = s.Build(ctx, commit)
		return lastErr == nil && done(b, found), nil
	})
	if err != nil {
		t.Fatalf("build of %s never %s: found=%v err=%v, last %q %+v", short(commit), what, found, lastErr, b.Summary(), b)
	}
	return b
}

func stepWords(j Job) (names, statuses []string) {
	for _, st := range j.Steps {
		names = append(names, st.Name)
		statuses = append(statuses, fmt.Sprintf("%d %s/%s", st.Number, st.Status, st.Conclusion))
	}
	return names, statuses
}

func TestBuild(t *testing.T) {
	g := testenv.Gitea(t)

	// (a) No runner: the run is there, queued, and says why.
	t.Run("queued without a runner", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, g, "")
		trigger, wfCommit := buildRepo(t, f, true)
		s := f.seeder()
		b := waitBuild(t, s, trigger, "found", func(_ Build, found bool) bool { return found })
		if b.Status != "queued" || b.Conclusion != "" || b.Finished() || b.Succeeded() {
			t.Errorf("status %q/%q finished=%v succeeded=%v, want queued and unfinished", b.Status, b.Conclusion, b.Finished(), b.Succeeded())
		}
		if want := "run #2 queued: waiting for a runner"; b.Summary() != want {
			t.Errorf("summary %q, want %q", b.Summary(), want)
		}
		if len(b.Jobs) != 1 || b.Jobs[0].Name != "build" || b.Jobs[0].Status != "queued" || len(b.Jobs[0].Steps) != 0 {
			t.Errorf("jobs %+v, want job build queued, no steps until a runner takes it", b.Jobs)
		}
		if b.Workflow != "build.yaml" || b.Runs != 1 || !strings.HasPrefix(b.URL, g.URL+"/"+s.RepoFullName()+"/actions/runs/") {
			t.Errorf("workflow %q, %d runs, url %q", b.Workflow, b.Runs, b.URL)
		}
		if _, _, _, ok := b.Failure(); ok {
			t.Error("Failure reports a failure for a queued run")
		}

		// The commit that added the workflow has a run of its own: Build
		// must tell the two apart.
		first := waitBuild(t, s, wfCommit, "found", func(_ Build, found bool) bool { return found })
		if first.RunID == b.RunID || first.RunNumber != 1 {
			t.Errorf("the workflow commit's build is run %d #%d, the trigger's %d #%d", first.RunID, first.RunNumber, b.RunID, b.RunNumber)
		}
		// Gitea 1.27.3 applies the head_sha filter itself (Build checks
		// again in case a server ignores it).
		all, _, err := f.admin.ListRepoActionRuns(f.cfg.Org, DefaultRepo, sdk.ListRepoActionRunsOptions{})
		if err != nil {
			t.Fatal(err)
		}
		filtered, _, err := f.admin.ListRepoActionRuns(f.cfg.Org, DefaultRepo, sdk.ListRepoActionRunsOptions{HeadSHA: trigger})
		if err != nil {
			t.Fatal(err)
		}
		if len(all.WorkflowRuns) != 2 || len(filtered.WorkflowRuns) != 1 || filtered.WorkflowRuns[0].HeadSha != trigger {
			t.Errorf("runs: %d in all, %d for head_sha %s", len(all.WorkflowRuns), len(filtered.WorkflowRuns), short(trigger))
		}
	})

	// (b), (c): a runner takes the job and ends it as scripted.
	outcomes := []struct {
		name      string
		outcome   func(testenv.RunnerTask) testenv.TaskOutcome
		succeeded bool
		steps     []string
		summary   string
		failStep  string
	}{
		{"runner succeeds", nil, true,
			[]string{"1 completed/success", "2 completed/success", "3 completed/success"},
			"run #2 succeeded", ""},
		{"runner fails step 2", testenv.FailStep("build", 2), false,
			[]string{"1 completed/success", "2 completed/failure", "3 completed/skipped"},
			"run #2 failed: job build, step 2/3 Compile failed", "Compile"},
	}
	for _, tt := range outcomes {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, g, "")
			trigger, _ := buildRepo(t, f, true)
			repoRunner(t, f, tt.outcome)
			s := f.seeder()
			b := waitBuild(t, s, trigger, "finished", func(b Build, found bool) bool { return found && b.Finished() })

			if b.Succeeded() != tt.succeeded || b.Summary() != tt.summary {
				t.Errorf("succeeded=%v summary %q, want %v %q", b.Succeeded(), b.Summary(), tt.succeeded, tt.summary)
			}
			if len(b.Jobs) != 1 {
				t.Fatalf("jobs %+v, want one", b.Jobs)
			}
			names, steps := stepWords(b.Jobs[0])
			if !slices.Equal(names, buildSteps) || !slices.Equal(steps, tt.steps) {
				t.Errorf("steps %q %q, want %q %q", names, steps, buildSteps, tt.steps)
			}
			job, step, url, ok := b.Failure()
			if !tt.succeeded {
				if !ok || job != "build" || step != tt.failStep {
					t.Errorf("Failure() = %q, %q, %q, %v; want job build, step %q", job, step, url, ok, tt.failStep)
				}
				wantPrefix := fmt.Sprintf("%s/%s/actions/runs/%d/jobs/", g.URL, s.RepoFullName(), b.RunID)
				if !strings.HasPrefix(url, wantPrefix) || url != b.Jobs[0].URL {
					t.Errorf("failure url %q, want the job page under %s", url, wantPrefix)
				}
				// The link works: it is the job's page on this Gitea.
				resp, err := http.Get(url)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Errorf("GET %s: %s", url, resp.Status)
				}
			} else if ok {
				t.Errorf("Failure() = %q, %q, %q on a build that succeeded", job, step, url)
			}
		})
	}

	// A job the runner holds at step 2 shows up in progress at that step.
	t.Run("in progress", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, g, "")
		trigger, _ := buildRepo(t, f, true)
		release := make(chan struct{})
		repoRunner(t, f, func(rt testenv.RunnerTask) testenv.TaskOutcome {
			if rt.SHA != trigger {
				return testenv.TaskOutcome{} // the workflow commit's run
			}
			return testenv.TaskOutcome{HoldStep: 2, Release: release}
		})
		s := f.seeder()
		want := "run #2 in progress: job build, step 2/3 Compile"
		b := waitBuild(t, s, trigger, "at step 2", func(b Build, found bool) bool { return b.Summary() == want })
		if b.Status != "in_progress" || b.Finished() {
			t.Errorf("status %q finished=%v, want in_progress", b.Status, b.Finished())
		}
		if _, steps := stepWords(b.Jobs[0]); !slices.Equal(steps, []string{"1 completed/success", "2 in_progress/", "3 queued/"}) {
			t.Errorf("steps %q", steps)
		}
		close(release)
		waitBuild(t, s, trigger, "succeeded", func(b Build, _ bool) bool { return b.Succeeded() })
	})

	// A re-run (from the UI or the API) is a new attempt of the same run:
	// Build follows the latest attempt, not the failed one.
	t.Run("rerun after a failure", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, g, "")
		trigger, _ := buildRepo(t, f, true)
		var failed atomic.Bool
		repoRunner(t, f, func(rt testenv.RunnerTask) testenv.TaskOutcome {
			if rt.SHA == trigger && failed.CompareAndSwap(false, true) {
				return testenv.TaskOutcome{FailStep: 2}
			}
			return testenv.TaskOutcome{}
		})
		s := f.seeder()
		b := waitBuild(t, s, trigger, "finished", func(b Build, found bool) bool { return b.Finished() })
		if b.Succeeded() {
			t.Fatalf("first attempt succeeded: %s", b.Summary())
		}
		if _, _, err := f.admin.RerunRepoActionRun(f.cfg.Org, DefaultRepo, b.RunID); err != nil {
			t.Fatalf("rerun: %v", err)
		}
		again := waitBuild(t, s, trigger, "succeeded", func(b Build, _ bool) bool { return b.Succeeded() })
		if again.RunID != b.RunID || len(again.Jobs) != 1 {
			t.Errorf("after the rerun: run %d with %d jobs, want run %d with one job", again.RunID, len(again.Jobs), b.RunID)
		}
		if _, _, _, ok := again.Failure(); ok {
			t.Errorf("Failure() reports the failed attempt after a successful rerun")
		}
		_, steps := stepWords(again.Jobs[0])
		if !slices.Equal(steps, []string{"1 completed/success", "2 completed/success", "3 completed/success"}) {
			t.Errorf("steps after the rerun: %q", steps)
		}
	})

	// (d) A commit no workflow runs for never gets a run.
	t.Run("no workflow", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, g, "")
		trigger, _ := buildRepo(t, f, false)
		// Add a workflow after the trigger commit and wait for a run of it:
		// had Gitea not handled the trigger's push by then, it would run
		// the branch head's workflow for it, never the trigger commit's.
		wfCommit := addWorkflow(t, f)
		s := f.seeder()
		waitBuild(t, s, wfCommit, "found", func(_ Build, found bool) bool { return found })
		all, _, err := f.admin.ListRepoActionRuns(f.cfg.Org, DefaultRepo, sdk.ListRepoActionRunsOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range all.WorkflowRuns {
			if r.HeadSha == trigger {
				t.Errorf("run #%d is for the trigger commit, which has no workflow", r.RunNumber)
			}
		}
		b, found, err := s.Build(context.Background(), trigger)
		if err != nil || found {
			t.Errorf("Build(trigger) = %+v, %v, %v; want not found", b, found, err)
		}
	})

	t.Run("errors and Actions off", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, g, "")
		_, _, err := f.seeder().Build(context.Background(), "0123456789abcdef0123456789abcdef01234567")
		if err == nil || !strings.Contains(err.Error(), f.cfg.Org+"/backstage is not there") {
			t.Errorf("Build in a missing repository: %v", err)
		}
		// A repository whose Actions are off has no runs; Gitea 1.27.3
		// answers the admin 200 with an empty list.
		if _, _, err := f.admin.CreateOrg(sdk.CreateOrgOption{Name: f.cfg.Org}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.admin.CreateOrgRepo(f.cfg.Org, sdk.CreateRepoOption{Name: DefaultRepo, AutoInit: true}); err != nil {
			t.Fatal(err)
		}
		off := false
		if _, _, err := f.admin.EditRepo(f.cfg.Org, DefaultRepo, sdk.EditRepoOption{HasActions: &off}); err != nil {
			t.Fatal(err)
		}
		if b, found, err := f.seeder().Build(context.Background(), "0123456789abcdef0123456789abcdef01234567"); err != nil || found {
			t.Errorf("Build with Actions off = %+v, %v, %v; want not found", b, found, err)
		}
		f.cfg.Password = secret.New("wrong")
		_, _, err = f.seeder().Build(context.Background(), "0123456789abcdef0123456789abcdef01234567")
		if err == nil || !strings.Contains(err.Error(), "rejected the password") {
			t.Errorf("Build with a wrong password: %v", err)
		}
	})
}

// TestBuildReport covers the words Gitea did not produce in TestBuild
// (cancelled, skipped, waiting, several jobs and runs), with the shapes
// TestBuild observed: steps numbered from 1, conclusion empty until the
// status is completed.
func TestBuildReport(t *testing.T) {
	steps := func(words ...string) []JobStep {
		var out []JobStep
		for i, w := range words {
			status, conclusion, _ := strings.Cut(w, "/")
			out = append(out, JobStep{Number: int64(i + 1), Name: fmt.Sprintf("S%d", i+1), Status: status, Conclusion: conclusion})
		}
		return out
	}
	job := func(name, word string, st []JobStep) Job {
		status, conclusion, _ := strings.Cut(word, "/")
		return Job{Name: name, Status: status, Conclusion: conclusion, URL: "https://git/jobs/" + name, Steps: st}
	}
	build := func(word string, runs int, jobs ...Job) Build {
		status, conclusion, _ := strings.Cut(word, "/")
		return Build{RunID: 7, RunNumber: 3, Status: status, Conclusion: conclusion, URL: "https://git/runs/7", Runs: runs, Jobs: jobs}
	}
	tests := []struct {
		name      string
		b         Build
		finished  bool
		succeeded bool
		failure   string // job|step|url, empty when Failure says no
		summary   string
	}{
		{"nothing", Build{}, false, false, "", "no run yet"},
		{"waiting for concurrency", build("waiting", 1, job("deploy", "waiting", nil)), false, false, "",
			"run #3 waiting: held back by its concurrency group (another run of the workflow) or an approval"},
		{"second job queued after the first", build("queued", 1,
			job("build", "completed/success", steps("completed/success")), job("deploy", "queued", nil)), false, false, "",
			"run #3 in progress: 1/2 jobs done, job deploy waiting for a runner"},
		{"second job blocked on needs", build("in_progress", 1,
			job("build", "in_progress", steps("completed/success", "in_progress")), job("deploy", "waiting", nil)), false, false, "",
			"run #3 in progress: job build, step 2/2 S2"},
		{"job taken, no step reported yet", build("in_progress", 1, job("build", "in_progress", nil)), false, false, "",
			"run #3 in progress: job build starting"},
		{"one job failed, another still running", build("in_progress", 1,
			job("lint", "completed/failure", steps("completed/failure")), job("build", "in_progress", steps("in_progress"))), false, false,
			"lint|S1|https://git/jobs/lint", "run #3 in progress: job build, step 1/1 S1"},
		{"cancelled", build("completed/cancelled", 1, job("build", "completed/cancelled", steps("completed/success", "completed/cancelled"))), true, false,
			"build||https://git/jobs/build", "run #3 was cancelled: job build was cancelled"},
		{"failed without a failed step", build("completed/failure", 1, job("build", "completed/failure", steps("queued", "queued"))), true, false,
			"build||https://git/jobs/build", "run #3 failed: job build failed before any step did"},
		{"skipped", build("completed/skipped", 1, job("deploy", "completed/skipped", nil)), true, false,
			"deploy||https://git/jobs/deploy", "run #3 skipped: no job ran, their if: conditions were false"},
		{"failed run without jobs", build("completed/failure", 1), true, false,
			"||https://git/runs/7", "run #3 failed"},
		{"two runs succeeded", build("completed/success", 2,
			job("build", "completed/success", steps("completed/success")), job("deploy", "completed/skipped", nil)), true, true, "",
			"run #3 (and 1 other workflow run) succeeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.b.Finished(); got != tt.finished {
				t.Errorf("Finished() = %v", got)
			}
			if got := tt.b.Succeeded(); got != tt.succeeded {
				t.Errorf("Succeeded() = %v", got)
			}
			job, step, url, ok := tt.b.Failure()
			if got := job + "|" + step + "|" + url; ok != (tt.failure != "") || ok && got != tt.failure {
				t.Errorf("Failure() = %q, %v; want %q", got, ok, tt.failure)
			}
			if got := tt.b.Summary(); got != tt.summary {
				t.Errorf("Summary() =\n%q, want\n%q", got, tt.summary)
			}
		})
	}
}

// TestCombineRuns: several workflows' runs of one commit read as one.
func TestCombineRuns(t *testing.T) {
	tests := []struct {
		runs []string // status/conclusion of each run
		want string
	}{
		{[]string{"queued"}, "queued/"},
		{[]string{"completed/success"}, "completed/success"},
		{[]string{"completed/skipped"}, "completed/skipped"},
		{[]string{"completed/success", "queued"}, "in_progress/"},
		{[]string{"queued", "waiting"}, "queued/"},
		{[]string{"waiting", "waiting"}, "waiting/"},
		{[]string{"in_progress", "completed/failure"}, "in_progress/"},
		{[]string{"completed/success", "completed/failure"}, "completed/failure"},
		{[]string{"completed/cancelled", "completed/success"}, "completed/cancelled"},
		{[]string{"completed/skipped", "completed/success"}, "completed/success"},
	}
	for _, tt := range tests {
		var runs []*sdk.ActionWorkflowRun
		for _, w := range tt.runs {
			status, conclusion, _ := strings.Cut(w, "/")
			runs = append(runs, &sdk.ActionWorkflowRun{Status: status, Conclusion: conclusion})
		}
		if status, conclusion := combine(runs); status+"/"+conclusion != tt.want {
			t.Errorf("combine(%v) = %s/%s, want %s", tt.runs, status, conclusion, tt.want)
		}
	}
}

// TestHeadSkipsCIBotCommits: the upstream workflow commits catalog-info.yaml
// back as github-actions[bot], a push Gitea starts no run for; the build to
// follow is still that of the commit before it. A person's push after it is
// the head again.
func TestHeadSkipsCIBotCommits(t *testing.T) {
	g := testenv.Gitea(t)
	f := newFixture(t, g, "")
	org := f.cfg.Org
	if _, _, err := f.admin.CreateOrg(sdk.CreateOrgOption{Name: org, Visibility: sdk.VisibleTypePublic}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.admin.CreateOrgRepo(org, sdk.CreateRepoOption{Name: DefaultRepo, DefaultBranch: "main", AutoInit: true, Readme: "Default"}); err != nil {
		t.Fatal(err)
	}
	commit := func(path string, committer sdk.Identity) string {
		t.Helper()
		fr, _, err := f.admin.CreateFile(org, DefaultRepo, path, sdk.CreateFileOptions{
			FileOptions: sdk.FileOptions{Message: "change " + path, BranchName: "main", Committer: committer},
			Content:     base64.StdEncoding.EncodeToString([]byte(path)),
		})
		if err != nil {
			t.Fatalf("commit %s: %v", path, err)
		}
		return fr.Commit.SHA
	}
	learner := sdk.Identity{Name: "5minadmin", Email: "5minadmin@example.test"}
	bot := sdk.Identity{Name: "github-actions[bot]", Email: "41898282+github-actions[bot]@users.noreply.github.com"}

	pushed := commit("README.md.new", learner)
	commit("catalog-info.yaml", bot)
	if head, err := f.seeder().Head(context.Background()); err != nil || head != pushed {
		t.Errorf("head = %s, %v; want the learner's %s under the bot's commit", head, err, pushed)
	}
	again := commit("docs.md", learner)
	if head, err := f.seeder().Head(context.Background()); err != nil || head != again {
		t.Errorf("head = %s, %v; want the new push %s", head, err, again)
	}
}
