package gitea

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	sdk "code.gitea.io/sdk/gitea"

	"github.com/pocketidp/pocketidp/internal/report"
)

// The words Gitea's Actions API uses (services/convert.ToActionsStatus in
// Gitea 1.27; the same as GitHub's). Status says where a run, job or step
// is; Conclusion is set only once Status is completed.
const (
	statusQueued     = "queued"      // waiting for a runner to take it
	statusWaiting    = "waiting"     // blocked: by jobs it needs, a concurrency group or an approval
	statusInProgress = "in_progress" // a runner has it (also while it is being cancelled)
	statusCompleted  = "completed"

	conclusionSuccess   = "success"
	conclusionFailure   = "failure"
	conclusionCancelled = "cancelled"
	conclusionSkipped   = "skipped" // an if: was false
)

// Build is the Actions run a commit started in the Backstage repository.
//
// A push starts one run per workflow whose triggers match, so a commit can
// have several runs: the course's repository has one workflow on push to
// main (Deploy Backstage), but a fork may add more. Build stands for all of
// them, since the commit is built only when every one has passed: Jobs lists
// the jobs of every run, Status is completed only when all runs are, and the
// Conclusion is the worst of theirs. RunID, RunNumber, Workflow and URL are
// those of the first run; Runs says how many there are. When one workflow
// ran more than once for the commit, only its newest run counts: it is the
// one that decides. That happens when the commit is pushed again or the
// workflow dispatched, and because Gitea (1.27) runs a push's workflows at
// the branch head when it gets to the push, not at the pushed commit: a
// push handled late gives its run to the commit after it.
type Build struct {
	RunID, RunNumber int64
	// Workflow is the workflow file's name, e.g. deploy.yaml.
	Workflow string
	// Status is queued, waiting, in_progress or completed; Conclusion, once
	// completed, is success, failure, cancelled or skipped.
	Status, Conclusion string
	// URL is the run's page.
	URL string
	// Runs is how many runs the Build stands for, 1 but for the case above.
	Runs int
	// Started is when the first of the runs started (zero while all are
	// queued): what the build deploys is made after it.
	Started time.Time
	Jobs    []Job
}

// Job is one job of the run, with the status words of Build.
type Job struct {
	Name, Status, Conclusion string
	// URL is the job's page, where its log is.
	URL   string
	Steps []JobStep
}

// JobStep is one step of a job as the workflow file lists it.
type JobStep struct {
	// Number counts from 1 (Gitea's API counts from 0; GitHub's from 1).
	Number                   int64
	Name, Status, Conclusion string
}

// ciCommitters commit without starting a build. Gitea runs no workflow for
// a push made with a workflow's own token, and the upstream Backstage
// workflow commits catalog-info.yaml back to the branch that way, with
// git-auto-commit-action, as github-actions[bot]: after the first build the
// branch head is that commit, and it has no run.
var ciCommitters = []string{"github-actions[bot]", "gitea-actions"}

// Head is the newest commit on the Backstage repository's default branch
// that is not a CI bot's: the one whose build deploys what the branch holds.
// A learner's push (the course has them change the README) moves it on.
func (s *Seeder) Head(ctx context.Context) (string, error) {
	c, err := s.connect(ctx)
	if err != nil {
		return "", err
	}
	full := s.RepoFullName()
	r, resp, err := c.GetRepo(s.cfg.Org, s.cfg.Repo)
	if err != nil {
		return "", s.apiError("read repository "+full, resp, err)
	}
	commits, resp, err := c.ListRepoCommits(s.cfg.Org, s.cfg.Repo, sdk.ListCommitOptions{
		ListOptions: sdk.ListOptions{PageSize: 20}, SHA: r.DefaultBranch,
	})
	if err != nil {
		return "", s.apiError("list the commits of branch "+r.DefaultBranch+" of "+full, resp, err)
	}
	if len(commits) == 0 {
		return "", fmt.Errorf("branch %s of %s has no commit", r.DefaultBranch, full)
	}
	for _, cm := range commits {
		if cm.RepoCommit == nil || cm.RepoCommit.Committer == nil || !slices.Contains(ciCommitters, cm.RepoCommit.Committer.Name) {
			return cm.SHA, nil
		}
	}
	return commits[0].SHA, nil
}

// Build finds the Actions run(s) commit started in the Backstage repository
// and their jobs and steps. found is false when there is no run for the
// commit (yet): Gitea creates runs from a push in a background queue, a
// second or so after the commit, and never when no workflow matches it, the
// repository's Actions are off, or (see Build) another commit landed on the
// branch before Gitea got to the push. Callers wait for a run with a
// deadline of their own.
func (s *Seeder) Build(ctx context.Context, commit string) (b Build, found bool, err error) {
	if commit == "" {
		return Build{}, false, fmt.Errorf("look for the build of %s: no commit given", s.RepoFullName())
	}
	c, err := s.connect(ctx)
	if err != nil {
		return Build{}, false, err
	}
	full := s.RepoFullName()
	runs, err := s.runsOf(c, commit)
	if err != nil || len(runs) == 0 {
		return Build{}, false, err
	}
	for i, r := range runs {
		jobs, err := s.jobsOf(c, r, commit)
		if err != nil {
			return Build{}, false, err
		}
		b.Jobs = append(b.Jobs, jobs...)
		if !r.StartedAt.IsZero() && (b.Started.IsZero() || r.StartedAt.Before(b.Started)) {
			b.Started = r.StartedAt
		}
		if i == 0 {
			b.RunID, b.RunNumber, b.URL = r.ID, r.RunNumber, r.HTMLURL
			b.Workflow, _, _ = strings.Cut(r.Path, "@")
		}
	}
	b.Runs = len(runs)
	b.Status, b.Conclusion = combine(runs)
	report.From(ctx).Logger().Debug("Actions build", "repo", full, "commit", commit, "summary", b.Summary())
	return b, true, nil
}

const (
	// pageSize is the most Gitea returns per page by default
	// (MAX_RESPONSE_ITEMS).
	pageSize    = 50
	maxRunPages = 10
)

// runsOf returns the newest run of each workflow for commit, oldest first.
func (s *Seeder) runsOf(c *sdk.Client, commit string) ([]*sdk.ActionWorkflowRun, error) {
	full := s.RepoFullName()
	newest := map[string]*sdk.ActionWorkflowRun{}
	for page := 1; ; page++ {
		resp, httpResp, err := c.ListRepoActionRuns(s.cfg.Org, s.cfg.Repo, sdk.ListRepoActionRunsOptions{
			ListOptions: sdk.ListOptions{Page: page, PageSize: pageSize}, HeadSHA: commit,
		})
		if err != nil {
			if isNotFound(httpResp) {
				return nil, fmt.Errorf("look for the Actions run of commit %s: repository %s is not there (HTTP %d)", short(commit), full, http.StatusNotFound)
			}
			return nil, s.apiError("list the Actions runs of "+full+" for commit "+short(commit), httpResp, err)
		}
		for _, r := range resp.WorkflowRuns {
			// Gitea 1.27 applies head_sha, but an older server ignores an
			// unknown filter and returns every run: check each.
			if r == nil || !strings.EqualFold(r.HeadSha, commit) {
				continue
			}
			if have, ok := newest[r.Path]; !ok || r.ID > have.ID {
				newest[r.Path] = r
			}
		}
		// Newest first: a server ignoring the filter is not read to the end.
		if len(resp.WorkflowRuns) < pageSize || page == maxRunPages {
			break
		}
	}
	runs := make([]*sdk.ActionWorkflowRun, 0, len(newest))
	for _, r := range newest {
		runs = append(runs, r)
	}
	slices.SortFunc(runs, func(a, b *sdk.ActionWorkflowRun) int { return cmp.Compare(a.ID, b.ID) })
	return runs, nil
}

// jobsOf returns the jobs of the run's latest attempt (what the API lists),
// in the order Gitea created them, which is the workflow file's.
func (s *Seeder) jobsOf(c *sdk.Client, r *sdk.ActionWorkflowRun, commit string) ([]Job, error) {
	var jobs []Job
	for page := 1; ; page++ {
		resp, httpResp, err := c.ListRepoActionRunJobs(s.cfg.Org, s.cfg.Repo, r.ID, sdk.ListRepoActionJobsOptions{
			ListOptions: sdk.ListOptions{Page: page, PageSize: pageSize},
		})
		if err != nil {
			return nil, s.apiError(fmt.Sprintf("list the jobs of Actions run #%d of %s (commit %s)", r.RunNumber, s.RepoFullName(), short(commit)), httpResp, err)
		}
		for _, j := range resp.Jobs {
			if j == nil {
				continue
			}
			job := Job{Name: j.Name, Status: j.Status, Conclusion: j.Conclusion, URL: j.HTMLURL}
			for i, st := range j.Steps {
				if st != nil {
					job.Steps = append(job.Steps, JobStep{Number: int64(i + 1), Name: st.Name, Status: st.Status, Conclusion: st.Conclusion})
				}
			}
			jobs = append(jobs, job)
		}
		if len(resp.Jobs) < pageSize || page == maxRunPages {
			return jobs, nil
		}
	}
}

// combine is the status and conclusion of several runs taken together.
func combine(runs []*sdk.ActionWorkflowRun) (status, conclusion string) {
	var statuses, conclusions []string
	for _, r := range runs {
		statuses, conclusions = append(statuses, r.Status), append(conclusions, r.Conclusion)
	}
	switch {
	case !allAre(statuses, statusCompleted):
		// Something is left to do. One run under way, or done while another
		// waits, makes the whole in progress.
		switch {
		case slices.Contains(statuses, statusInProgress), slices.Contains(statuses, statusCompleted):
			return statusInProgress, ""
		case slices.Contains(statuses, statusQueued):
			return statusQueued, ""
		default:
			return statuses[0], ""
		}
	case slices.Contains(conclusions, conclusionFailure):
		return statusCompleted, conclusionFailure
	case slices.Contains(conclusions, conclusionCancelled):
		return statusCompleted, conclusionCancelled
	case slices.Contains(conclusions, conclusionSuccess):
		// A skipped run beside a successful one: a workflow whose if:
		// excluded this push, which is no failure.
		return statusCompleted, conclusionSuccess
	default:
		return statusCompleted, conclusions[0]
	}
}

func allAre(words []string, w string) bool {
	for _, x := range words {
		if x != w {
			return false
		}
	}
	return true
}

// Finished reports whether the build has ended, however it ended.
func (b Build) Finished() bool { return b.Status == statusCompleted }

// Succeeded reports whether the build ended in success. A run whose jobs
// were all skipped (the Backstage workflow skips its job when the org's
// CLOUD_PROVIDER variable is missing) did not deploy anything: no success.
func (b Build) Succeeded() bool { return b.Finished() && b.Conclusion == conclusionSuccess }

// Failure names what went wrong: the first job that failed, the step of it
// that failed, and the job's page, where its log is. ok is true as soon as
// a job failed or was cancelled, even while other jobs still run, and for a
// build that finished without success; step is empty when the job ended
// without a step failing (it was cancelled, timed out, or lost its runner),
// and job too when the run has no jobs (then url is the run's page).
func (b Build) Failure() (job, step, url string, ok bool) {
	pick := func(match func(Job) bool) (Job, bool) {
		for _, j := range b.Jobs {
			if match(j) {
				return j, true
			}
		}
		return Job{}, false
	}
	j, found := pick(func(j Job) bool { return j.Conclusion == conclusionFailure })
	if !found {
		j, found = pick(func(j Job) bool { return j.Conclusion == conclusionCancelled })
	}
	if !found && b.Finished() && !b.Succeeded() {
		j, found = pick(func(j Job) bool { return j.Conclusion != conclusionSuccess })
		if !found {
			return "", "", b.URL, true
		}
	}
	if !found {
		return "", "", "", false
	}
	for _, st := range j.Steps {
		if st.Conclusion == conclusionFailure {
			step = st.Name
			break
		}
	}
	return j.Name, step, j.URL, true
}

// Summary is a one-line account of the build for progress messages, e.g.
// "run #1 in progress: job build, step 2/3 Compile".
func (b Build) Summary() string {
	if b.RunNumber == 0 && b.Status == "" {
		return "no run yet"
	}
	run := fmt.Sprintf("run #%d", b.RunNumber)
	switch {
	case b.Runs == 2:
		run += " (and 1 other workflow run)"
	case b.Runs > 2:
		run += fmt.Sprintf(" (and %d other workflow runs)", b.Runs-1)
	}
	switch b.Status {
	case statusQueued, statusWaiting:
		// Gitea keeps a run queued while any job waits for a runner, even
		// after other jobs finished: then say how far it got.
		if b.started() {
			return run + " in progress: " + b.progress()
		}
		if b.Status == statusQueued {
			return run + " queued: waiting for a runner"
		}
		return run + " waiting: held back by its concurrency group (another run of the workflow) or an approval"
	case statusInProgress:
		return run + " in progress: " + b.progress()
	case statusCompleted:
	default:
		return run + " " + b.Status
	}
	switch b.Conclusion {
	case conclusionSuccess:
		return run + " succeeded"
	case conclusionSkipped:
		return run + " skipped: no job ran, their if: conditions were false"
	}
	verb := "failed"
	if b.Conclusion == conclusionCancelled {
		verb = "was cancelled"
	} else if b.Conclusion != conclusionFailure {
		verb = "ended " + b.Conclusion
	}
	if job, step, _, ok := b.Failure(); ok && job != "" {
		if step != "" {
			return fmt.Sprintf("%s %s: job %s, step %s failed", run, verb, job, b.stepLabel(job, step))
		}
		return fmt.Sprintf("%s %s: job %s %s", run, verb, job, jobEnd(b.job(job)))
	}
	return run + " " + verb
}

// progress says what a run in progress is doing: the step a job is at,
// else the first job not yet started.
func (b Build) progress() string {
	for _, j := range b.Jobs {
		if j.Status != statusInProgress {
			continue
		}
		for _, st := range j.Steps {
			if st.Status != statusCompleted {
				return fmt.Sprintf("job %s, step %d/%d %s", j.Name, st.Number, len(j.Steps), st.Name)
			}
		}
		if len(j.Steps) == 0 {
			return "job " + j.Name + " starting"
		}
		return "job " + j.Name + " finishing"
	}
	done := 0
	for _, j := range b.Jobs {
		if j.Status == statusCompleted {
			done++
		}
	}
	for _, j := range b.Jobs {
		switch j.Status {
		case statusQueued:
			return fmt.Sprintf("%d/%d jobs done, job %s waiting for a runner", done, len(b.Jobs), j.Name)
		case statusWaiting:
			return fmt.Sprintf("%d/%d jobs done, job %s waiting for the jobs it needs", done, len(b.Jobs), j.Name)
		}
	}
	return fmt.Sprintf("%d/%d jobs done", done, len(b.Jobs))
}

// started reports whether any job got past queued or waiting.
func (b Build) started() bool {
	for _, j := range b.Jobs {
		if j.Status == statusInProgress || j.Status == statusCompleted {
			return true
		}
	}
	return false
}

func (b Build) job(name string) Job {
	for _, j := range b.Jobs {
		if j.Name == name {
			return j
		}
	}
	return Job{}
}

// stepLabel is "2/3 Compile" for step name of job.
func (b Build) stepLabel(job, step string) string {
	j := b.job(job)
	for _, st := range j.Steps {
		if st.Name == step {
			return fmt.Sprintf("%d/%d %s", st.Number, len(j.Steps), st.Name)
		}
	}
	return step
}

func jobEnd(j Job) string {
	switch j.Conclusion {
	case conclusionCancelled:
		return "was cancelled"
	case conclusionSkipped:
		return "was skipped"
	case conclusionFailure:
		return "failed before any step did"
	}
	return "ended " + j.Conclusion
}

// short is a commit's abbreviation for messages.
func short(commit string) string {
	if len(commit) > 10 {
		return commit[:10]
	}
	return commit
}
