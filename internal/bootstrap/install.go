package bootstrap

import (
	"context"
	"log/slog"
	"sync"

	"github.com/pocketidp/pocketidp/internal/config"
	"github.com/pocketidp/pocketidp/internal/doctor"
	"github.com/pocketidp/pocketidp/internal/state"
)

// Install is what every step of an install shares, like kind's
// ActionContext: the options, the state, the machine, the debug log.
type Install struct {
	Options config.Options
	Store   *state.Store // nil while the doctor runs: nothing is created then
	Host    doctor.Host
	Log     *slog.Logger

	// Charts is what the chart steps need beyond the options (charts.go).
	Charts ChartsInput
	// Humanitec is what the Humanitec steps need beyond the options
	// (humanitec.go).
	Humanitec HumanitecInput
	// Orchestrator is what the local orchestrator's steps need beyond the
	// options (orchestrator.go).
	Orchestrator OrchestratorInput
	// Cluster is what the cluster, tls, coredns and trust steps share
	// (cluster.go); other steps reach the cluster with Kube.
	Cluster ClusterInput
	// Gitea is how the gitea/* steps reach Gitea (gitea.go).
	Gitea GiteaInput
	// Backstage tunes how --wait follows the Backstage build (backstage.go).
	Backstage BackstageInput

	// Keep names the steps whose result `down` leaves in place.
	Keep map[string]bool

	mu      sync.Mutex
	results []doctor.Result
}

// DoctorResults returns what the doctor steps found, in check order.
func (in *Install) DoctorResults() []doctor.Result {
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]doctor.Result(nil), in.results...)
}

// doctorCheck runs one doctor check as a step. It has no Done: a check is
// re-run every time, since the machine may have changed.
type doctorCheck struct {
	in    *Install
	check doctor.Check
}

func (d doctorCheck) Name() string { return "doctor/" + d.check.Name }

func (d doctorCheck) Run(ctx context.Context, sc *StepContext) error {
	r := d.check.Run(ctx, d.in.Host, d.in.Options)
	d.in.mu.Lock()
	d.in.results = append(d.in.results, r)
	d.in.mu.Unlock()
	switch r.Status {
	case doctor.Warn:
		sc.Logger().Warn(r.Found + " (fix: " + r.Fix + ")")
	case doctor.OK:
		sc.Logger().Info(r.Found)
	}
	return r.Err()
}

// DoctorPlan is the pre-flight checks: the first steps of `up`, and all of
// `doctor`. They read the machine and create nothing. With Humanitec, the
// token is checked among them, so a wrong one is reported with the
// machine's problems and before the state is written.
func DoctorPlan(in *Install) (*Plan, error) {
	var steps []Step
	for _, c := range doctor.Checks(in.Options) {
		steps = append(steps, Step{Action: doctorCheck{in: in, check: c}})
	}
	steps = append(steps, humanitecTokenStep(in)...)
	return NewPlan(steps...)
}
