package testenv

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	runnerv1 "code.gitea.io/actions-proto-go/runner/v1"
	"code.gitea.io/actions-proto-go/runner/v1/runnerv1connect"
	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"
	"sigs.k8s.io/yaml"
)

// An in-process Gitea Actions runner that runs nothing. It speaks the same
// protocol as act_runner (register, declare, fetch a task, report steps and
// log), so Gitea's run, job and step records go through the real state
// changes; what happens in each step is scripted by the test. That makes
// "step 2 of job build failed" as cheap as a success, with no containers.

// RunnerOptions configures StartRunner.
type RunnerOptions struct {
	// GiteaURL is Gitea's base URL, e.g. GiteaServer.URL.
	GiteaURL string
	// RegistrationToken decides the runner's scope: an instance, org or
	// repository token. A repository token keeps tests that share a Gitea
	// from taking each other's jobs.
	RegistrationToken string
	// Name defaults to "testenv-runner".
	Name string
	// Labels default to ubuntu-latest, the label the course's workflows use.
	Labels []string
	// Outcome scripts each task; nil means every step succeeds.
	Outcome func(RunnerTask) TaskOutcome
	// PollInterval between FetchTask calls while there is no work; zero
	// means 100 ms (act_runner's 2 s default would dominate test times).
	PollInterval time.Duration
	// HTTPClient carries the runner's requests; nil means
	// http.DefaultClient.
	HTTPClient *http.Client
	// RegisterOnly registers and declares the runner but never asks for a
	// task: a runner as Gitea lists it after an install, for tests that only
	// need one to exist. Its runs stay queued, and the test may stop Gitea
	// under it without the runner reporting errors.
	RegisterOnly bool
}

// RunnerTask is a job as the runner received it.
type RunnerTask struct {
	ID      int64
	Repo    string // owner/name
	SHA     string
	Ref     string
	JobID   string // the job's key in the workflow file
	JobName string // its display name (name: or else the key)
	// Steps are the step names as Gitea displays them, in order.
	Steps   []string
	Vars    map[string]string
	Secrets map[string]string
}

// TaskOutcome is what the runner reports for one task.
type TaskOutcome struct {
	// FailStep is the 1-based number of the step that fails; the steps
	// after it are reported skipped, as act_runner does. 0: all succeed.
	FailStep int
	// HoldStep, when > 0, reports step HoldStep as started (the steps
	// before it done) and then waits for Release to be closed: the way to
	// look at a run in progress. Without Release the task stays there until
	// the runner is closed.
	HoldStep int
	Release  <-chan struct{}
}

// FailStep fails step n (1-based) of the job whose key or name is job and
// lets every other task succeed.
func FailStep(job string, n int) func(RunnerTask) TaskOutcome {
	return func(t RunnerTask) TaskOutcome {
		if t.JobID == job || t.JobName == job {
			return TaskOutcome{FailStep: n}
		}
		return TaskOutcome{}
	}
}

// FailStepNamed fails the step named step (as Gitea displays it) of the job
// whose key or name is job and lets everything else succeed.
func FailStepNamed(job, step string) func(RunnerTask) TaskOutcome {
	return func(t RunnerTask) TaskOutcome {
		if t.JobID != job && t.JobName != job {
			return TaskOutcome{}
		}
		for i, name := range t.Steps {
			if name == step {
				return TaskOutcome{FailStep: i + 1}
			}
		}
		return TaskOutcome{}
	}
}

// Runner is a registered runner polling Gitea for tasks until Close (unless
// RegisterOnly). It
// works on one task at a time, as act_runner with capacity 1 does: a task
// held at a step keeps the runner's other jobs queued.
type Runner struct {
	// ID, UUID and Name are what Gitea registered.
	ID   int64
	UUID string
	Name string

	client  runnerv1connect.RunnerServiceClient
	auth    http.Header
	opts    RunnerOptions
	cancel  context.CancelFunc
	stopped chan struct{}

	mu    sync.Mutex
	tasks []RunnerTask
	err   error
}

// ActionsRunner starts a runner for the test and closes it in t.Cleanup,
// failing the test if the runner hit an error on the way.
func ActionsRunner(t testing.TB, opts RunnerOptions) *Runner {
	t.Helper()
	r, err := StartRunner(context.Background(), opts)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Errorf("testenv: runner %s: %v", r.Name, err)
		}
	})
	return r
}

// StartRunner registers a runner with Gitea and starts polling. ctx bounds
// the registration only; the runner works until Close.
func StartRunner(ctx context.Context, opts RunnerOptions) (*Runner, error) {
	if opts.Name == "" {
		opts.Name = "testenv-runner"
	}
	if len(opts.Labels) == 0 {
		opts.Labels = []string{"ubuntu-latest"}
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 100 * time.Millisecond
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = http.DefaultClient
	}
	if opts.Outcome == nil {
		opts.Outcome = func(RunnerTask) TaskOutcome { return TaskOutcome{} }
	}
	// act_runner's base: the service lives under /api/actions.
	client := runnerv1connect.NewRunnerServiceClient(opts.HTTPClient, strings.TrimSuffix(opts.GiteaURL, "/")+"/api/actions")
	reg, err := client.Register(ctx, connect.NewRequest(&runnerv1.RegisterRequest{
		Name: opts.Name, Token: opts.RegistrationToken, Version: "testenv", Labels: opts.Labels,
	}))
	if err != nil {
		return nil, fmt.Errorf("register runner %s with %s: %w", opts.Name, opts.GiteaURL, err)
	}
	r := &Runner{
		ID: reg.Msg.Runner.Id, UUID: reg.Msg.Runner.Uuid, Name: reg.Msg.Runner.Name,
		client: client, opts: opts, stopped: make(chan struct{}),
		auth: http.Header{"X-Runner-Uuid": {reg.Msg.Runner.Uuid}, "X-Runner-Token": {reg.Msg.Runner.Token}},
	}
	// Register stores the labels too, but act_runner declares them on every
	// start; doing the same checks the runner's credentials right away.
	if _, err := client.Declare(ctx, request(r, &runnerv1.DeclareRequest{Version: "testenv", Labels: opts.Labels})); err != nil {
		return nil, fmt.Errorf("declare runner %s: %w", opts.Name, err)
	}
	if opts.RegisterOnly {
		r.cancel = func() {}
		close(r.stopped)
		return r, nil
	}
	loopCtx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go r.poll(loopCtx)
	return r, nil
}

// Close stops polling and returns the first error the runner met. A task
// held at a step stays running in Gitea; the runner stays registered.
func (r *Runner) Close() error {
	r.cancel()
	<-r.stopped
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// Tasks returns the tasks the runner has taken so far.
func (r *Runner) Tasks() []RunnerTask {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]RunnerTask(nil), r.tasks...)
}

func request[T any](r *Runner, msg *T) *connect.Request[T] {
	req := connect.NewRequest(msg)
	for k, v := range r.auth {
		req.Header()[k] = v
	}
	return req
}

func (r *Runner) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil {
		r.err = err
	}
}

func (r *Runner) poll(ctx context.Context) {
	defer close(r.stopped)
	var version int64
	for ctx.Err() == nil {
		resp, err := r.client.FetchTask(ctx, request(r, &runnerv1.FetchTaskRequest{TasksVersion: version}))
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			// Keep polling: fault tests restart Gitea under a runner, and a
			// real runner rides that out too. Close reports the error.
			r.fail(fmt.Errorf("fetch task: %w", err))
		case resp.Msg.Task != nil:
			// As act_runner: after a task, ask with version 0 so Gitea looks
			// for more work instead of answering "nothing new".
			version = 0
			if err := r.run(ctx, resp.Msg.Task); err != nil && ctx.Err() == nil {
				r.fail(err)
			}
			continue
		default:
			version = resp.Msg.TasksVersion
		}
		select {
		case <-ctx.Done():
		case <-time.After(r.opts.PollInterval):
		}
	}
}

// workflowPayload is the part of the single-job workflow Gitea sends with a
// task that names the job and its steps.
type workflowPayload struct {
	Jobs map[string]struct {
		Name  string `json:"name"`
		Steps []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
			Uses string `json:"uses"`
			Run  string `json:"run"`
		} `json:"steps"`
	} `json:"jobs"`
}

func parseTask(t *runnerv1.Task) (RunnerTask, error) {
	rt := RunnerTask{ID: t.Id, Vars: t.Vars, Secrets: t.Secrets}
	ctx := t.GetContext().AsMap()
	str := func(k string) string { s, _ := ctx[k].(string); return s }
	rt.Repo, rt.SHA, rt.Ref, rt.JobID = str("repository"), str("sha"), str("ref"), str("job")
	var w workflowPayload
	if err := yaml.Unmarshal(t.WorkflowPayload, &w); err != nil {
		return rt, fmt.Errorf("task %d: read the workflow: %w", t.Id, err)
	}
	job, ok := w.Jobs[rt.JobID]
	if !ok {
		return rt, fmt.Errorf("task %d: job %q is not in the workflow Gitea sent", t.Id, rt.JobID)
	}
	rt.JobName = job.Name
	if rt.JobName == "" {
		rt.JobName = rt.JobID
	}
	for _, s := range job.Steps {
		// Gitea's own naming (models/actions makeTaskStepDisplayName), so
		// FailStepNamed matches what the API and the UI show.
		name := s.Name
		if name == "" {
			run, _, _ := strings.Cut(strings.TrimSpace(s.Run), "\n")
			name = "Run " + firstNonEmpty(strings.TrimSpace(run), s.Uses, s.ID)
		}
		rt.Steps = append(rt.Steps, name)
	}
	return rt, nil
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// run reports one task the way act_runner does: a state update as each
// step starts and ends, the log, then the final result.
func (r *Runner) run(ctx context.Context, t *runnerv1.Task) error {
	state := &runnerv1.TaskState{Id: t.Id, StartedAt: timestamppb.Now()}
	rt, err := parseTask(t)
	if err != nil {
		// Tell Gitea, or the job would look running until it times out.
		state.Result, state.StoppedAt = runnerv1.Result_RESULT_FAILURE, timestamppb.Now()
		_, uerr := r.client.UpdateTask(ctx, request(r, &runnerv1.UpdateTaskRequest{State: state}))
		return errors.Join(err, uerr)
	}
	r.mu.Lock()
	r.tasks = append(r.tasks, rt)
	r.mu.Unlock()
	out := r.opts.Outcome(rt)

	update := func() error {
		_, err := r.client.UpdateTask(ctx, request(r, &runnerv1.UpdateTaskRequest{State: state}))
		if err != nil {
			return fmt.Errorf("task %d (%s, job %s): report state: %w", t.Id, rt.Repo, rt.JobID, err)
		}
		return nil
	}
	var rows []*runnerv1.LogRow
	logf := func(format string, a ...any) {
		rows = append(rows, &runnerv1.LogRow{Time: timestamppb.Now(), Content: fmt.Sprintf(format, a...)})
	}
	result := runnerv1.Result_RESULT_SUCCESS
	for i, name := range rt.Steps {
		n := i + 1
		step := &runnerv1.StepState{Id: int64(i), LogIndex: int64(len(rows))}
		state.Steps = append(state.Steps, step)
		if result != runnerv1.Result_RESULT_SUCCESS {
			step.Result = runnerv1.Result_RESULT_SKIPPED
			continue
		}
		step.StartedAt = timestamppb.Now()
		if err := update(); err != nil {
			return err
		}
		if out.HoldStep == n {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-out.Release:
			}
		}
		logf("testenv runner: step %d/%d %s", n, len(rt.Steps), name)
		step.Result = runnerv1.Result_RESULT_SUCCESS
		if out.FailStep == n {
			logf("::error::step %q failed as the test asked", name)
			step.Result, result = runnerv1.Result_RESULT_FAILURE, runnerv1.Result_RESULT_FAILURE
		}
		step.StoppedAt, step.LogLength = timestamppb.Now(), int64(len(rows))-step.LogIndex
	}
	// Logs before the final state: Gitea archives the log once NoMore comes.
	if _, err := r.client.UpdateLog(ctx, request(r, &runnerv1.UpdateLogRequest{TaskId: t.Id, Rows: rows, NoMore: true})); err != nil {
		return fmt.Errorf("task %d (%s, job %s): upload log: %w", t.Id, rt.Repo, rt.JobID, err)
	}
	state.Result, state.StoppedAt = result, timestamppb.Now()
	return update()
}
