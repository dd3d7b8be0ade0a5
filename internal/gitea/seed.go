package gitea

import (
	"context"
	"fmt"

	"github.com/pocketidp/pocketidp/internal/secret"
)

// Op is one seeding operation with its done-check, in the shape of an
// engine step; the bootstrap adapter turns each into a step.
type Op struct {
	Name string
	Done func(context.Context) (bool, error) // nil: always run
	Run  func(context.Context) error
}

// Ops are the seeding operations in an order that respects their
// dependencies. The runner token obtained, if any, is stored in *token.
func (s *Seeder) Ops(token *secret.Value) []Op {
	return []Op{
		{Name: "ready", Run: s.WaitReady},
		{Name: "org", Done: s.OrgDone, Run: s.EnsureOrg},
		{Name: "backstage-repo", Done: s.RepoDone, Run: s.EnsureBackstageRepo},
		{Name: "actions-config", Done: s.ActionsConfigDone, Run: s.EnsureActionsConfig},
		{Name: "runner-token", Done: s.RunnerRegistered, Run: func(ctx context.Context) error {
			t, err := s.RunnerToken(ctx)
			*token = t
			return err
		}},
		{Name: "trigger", Done: s.TriggerDone, Run: s.Trigger},
	}
}

// Seed runs every operation one after the other, skipping those already
// done, as the engine does with the steps. It returns the runner
// registration token, empty when a runner is registered already.
func (s *Seeder) Seed(ctx context.Context) (secret.Value, error) {
	var token secret.Value
	for _, op := range s.Ops(&token) {
		if op.Done != nil {
			done, err := op.Done(ctx)
			if err != nil {
				return token, fmt.Errorf("check gitea/%s: %w", op.Name, err)
			}
			if done {
				continue
			}
		}
		if err := op.Run(ctx); err != nil {
			return token, fmt.Errorf("gitea/%s: %w", op.Name, err)
		}
	}
	return token, nil
}

// Forget drops this install's Gitea records from the state without asking
// Gitea: for a `down` that deletes the whole cluster, Gitea included.
func (s *Seeder) Forget() error {
	org := s.cfg.Org
	for _, o := range []struct{ kind, id string }{
		{KindOrgVariable, org + "/" + VarCloudProvider},
		{KindOrgVariable, org + "/" + VarHumanitecOrg},
		{KindOrgVariable, org + "/" + VarHumanitecApp},
		{KindOrgSecret, org + "/" + SecretToken},
		{KindRepo, s.RepoFullName()},
		{KindOrg, org},
	} {
		if err := s.store.RemoveObject(o.kind, o.id); err != nil {
			return err
		}
	}
	for _, k := range []string{KeyBackstageCommit, KeyBackstageSource, KeyTriggerCommit, KeyTokenFingerprint} {
		if err := s.store.SetValue(k, ""); err != nil {
			return err
		}
	}
	return nil
}
