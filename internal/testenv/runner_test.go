package testenv

import (
	"encoding/base64"
	"fmt"
	"slices"
	"testing"
	"time"

	"code.gitea.io/sdk/gitea"
)

const runnerTestWorkflow = `name: Build
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - name: Check out
        run: echo checkout
      - name: Compile
        run: echo compile
      - run: |
          echo test
          echo more
`

// TestActionsRunner runs a real workflow run through the runner and reads
// the outcome back from Gitea's API: each script must show up as the step
// and job states Gitea stores.
func TestActionsRunner(t *testing.T) {
	g := SharedGitea(t)
	admin, err := gitea.NewClient(g.URL, gitea.SetBasicAuth(g.AdminUser, g.AdminPassword))
	if err != nil {
		t.Fatal(err)
	}
	wantSteps := []string{"Check out", "Compile", "Run echo test"}
	tests := []struct {
		name    string
		outcome func(RunnerTask) TaskOutcome
		job     string   // the job's conclusion
		steps   []string // the steps' conclusions
	}{
		{"default succeeds", nil, "success", []string{"success", "success", "success"}},
		{"fail step 1", FailStep("build", 1), "failure", []string{"failure", "skipped", "skipped"}},
		{"fail step named", FailStepNamed("build", "Compile"), "failure", []string{"success", "failure", "skipped"}},
		{"fail another job", FailStep("deploy", 1), "success", []string{"success", "success", "success"}},
		{"fail unnamed step by its display name", FailStepNamed("build", "Run echo test"), "failure", []string{"success", "success", "failure"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			repo := UniqueName(t)
			sha, tok := workflowRepo(t, admin, g.AdminUser, repo)
			r := ActionsRunner(t, RunnerOptions{GiteaURL: g.URL, RegistrationToken: tok, Outcome: tt.outcome})

			var job *gitea.ActionWorkflowJob
			Eventually(t, time.Minute, func() error {
				runs, _, err := admin.ListRepoActionRuns(g.AdminUser, repo, gitea.ListRepoActionRunsOptions{})
				if err != nil {
					return err
				}
				if len(runs.WorkflowRuns) != 1 || runs.WorkflowRuns[0].Status != "completed" {
					return fmt.Errorf("want one completed run, have %d", len(runs.WorkflowRuns))
				}
				jobs, _, err := admin.ListRepoActionRunJobs(g.AdminUser, repo, runs.WorkflowRuns[0].ID, gitea.ListRepoActionJobsOptions{})
				if err != nil || len(jobs.Jobs) != 1 {
					return fmt.Errorf("jobs of the run: %v (%d)", err, len(jobs.Jobs))
				}
				job = jobs.Jobs[0]
				return nil
			})
			var names, got []string
			for _, s := range job.Steps {
				names, got = append(names, s.Name), append(got, s.Conclusion)
			}
			if job.Conclusion != tt.job || !slices.Equal(got, tt.steps) || !slices.Equal(names, wantSteps) {
				t.Errorf("job %s concluded %s, steps %v %v; want %s, %v %v", job.Name, job.Conclusion, names, got, tt.job, wantSteps, tt.steps)
			}
			tasks := r.Tasks()
			if len(tasks) != 1 || tasks[0].SHA != sha || tasks[0].JobID != "build" || tasks[0].Repo != g.AdminUser+"/"+repo ||
				!slices.Equal(tasks[0].Steps, wantSteps) {
				t.Errorf("runner saw tasks %+v, want one for job build of %s at %s", tasks, repo, sha)
			}
		})
	}
}

// TestActionsRunnerHold checks a held step: Gitea shows the job in
// progress at that step until the test lets it go.
func TestActionsRunnerHold(t *testing.T) {
	g := SharedGitea(t)
	admin, err := gitea.NewClient(g.URL, gitea.SetBasicAuth(g.AdminUser, g.AdminPassword))
	if err != nil {
		t.Fatal(err)
	}
	repo := UniqueName(t)
	_, tok := workflowRepo(t, admin, g.AdminUser, repo)
	release := make(chan struct{})
	ActionsRunner(t, RunnerOptions{GiteaURL: g.URL, RegistrationToken: tok,
		Outcome: func(RunnerTask) TaskOutcome { return TaskOutcome{HoldStep: 2, Release: release} }})

	job := func(want string) func() error {
		return func() error {
			runs, _, err := admin.ListRepoActionRuns(g.AdminUser, repo, gitea.ListRepoActionRunsOptions{})
			if err != nil || len(runs.WorkflowRuns) != 1 {
				return fmt.Errorf("runs: %v", err)
			}
			jobs, _, err := admin.ListRepoActionRunJobs(g.AdminUser, repo, runs.WorkflowRuns[0].ID, gitea.ListRepoActionJobsOptions{})
			if err != nil || len(jobs.Jobs) != 1 {
				return fmt.Errorf("jobs: %v", err)
			}
			var got string
			for _, s := range jobs.Jobs[0].Steps {
				got += s.Status + "/" + s.Conclusion + " "
			}
			if got = jobs.Jobs[0].Status + ": " + got; got != want {
				return fmt.Errorf("job %q, want %q", got, want)
			}
			return nil
		}
	}
	Eventually(t, time.Minute, job("in_progress: completed/success in_progress/ queued/ "))
	close(release)
	Eventually(t, time.Minute, job("completed: completed/success completed/success completed/success "))
}

// TestActionsRunnerRegisterOnly checks a runner that only registers: Gitea
// lists it, and the run it could take stays queued with no runner on its
// job, long after a polling runner would have taken it.
func TestActionsRunnerRegisterOnly(t *testing.T) {
	g := SharedGitea(t)
	admin, err := gitea.NewClient(g.URL, gitea.SetBasicAuth(g.AdminUser, g.AdminPassword))
	if err != nil {
		t.Fatal(err)
	}
	repo := UniqueName(t)
	_, tok := workflowRepo(t, admin, g.AdminUser, repo)
	const poll = 100 * time.Millisecond
	r := ActionsRunner(t, RunnerOptions{GiteaURL: g.URL, RegistrationToken: tok, RegisterOnly: true, PollInterval: poll})
	runners, _, err := admin.ListRepoActionRunners(g.AdminUser, repo, gitea.ListActionRunnersOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(runners.Runners, func(x *gitea.ActionRunner) bool { return x.ID == r.ID }) {
		t.Fatalf("Gitea does not list the runner %d for the repository", r.ID)
	}
	// queued says whether the one run and its one job are queued with no
	// runner assigned.
	queued := func() error {
		runs, _, err := admin.ListRepoActionRuns(g.AdminUser, repo, gitea.ListRepoActionRunsOptions{})
		if err != nil || len(runs.WorkflowRuns) != 1 {
			return fmt.Errorf("runs: %v", err)
		}
		if s := runs.WorkflowRuns[0].Status; s != "queued" {
			return fmt.Errorf("run %s, want queued", s)
		}
		jobs, _, err := admin.ListRepoActionRunJobs(g.AdminUser, repo, runs.WorkflowRuns[0].ID, gitea.ListRepoActionJobsOptions{})
		if err != nil || len(jobs.Jobs) != 1 {
			return fmt.Errorf("jobs of the run: %v", err)
		}
		if j := jobs.Jobs[0]; j.Status != "queued" || j.RunnerID != 0 || j.RunnerName != "" {
			return fmt.Errorf("job %s, runner %d %q; want queued with no runner", j.Status, j.RunnerID, j.RunnerName)
		}
		return nil
	}
	Eventually(t, time.Minute, queued)
	// A polling runner takes a queued job within a poll or two; give it
	// twenty.
	time.Sleep(20 * poll)
	if err := queued(); err != nil {
		t.Errorf("after %s of a register-only runner: %v", 20*poll, err)
	}
}

// workflowRepo creates a repository of the admin whose one commit adds
// runnerTestWorkflow, and returns that commit and a runner registration
// token of the repository (so that tests sharing a Gitea do not take each
// other's jobs).
func workflowRepo(t *testing.T, c *gitea.Client, owner, name string) (sha, token string) {
	t.Helper()
	if _, _, err := c.CreateRepo(gitea.CreateRepoOption{Name: name, DefaultBranch: "main"}); err != nil {
		t.Fatalf("create repo: %v", err)
	}
	fr, _, err := c.CreateFile(owner, name, ".gitea/workflows/build.yaml", gitea.CreateFileOptions{
		FileOptions: gitea.FileOptions{Message: "Add workflow", BranchName: "main"},
		Content:     base64.StdEncoding.EncodeToString([]byte(runnerTestWorkflow)),
	})
	if err != nil {
		t.Fatalf("add workflow: %v", err)
	}
	tok, _, err := c.CreateRepoActionRunnerRegistrationToken(owner, name)
	if err != nil {
		t.Fatalf("repository runner token: %v", err)
	}
	return fr.Commit.SHA, tok.Token
}
