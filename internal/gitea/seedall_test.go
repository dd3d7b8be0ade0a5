package gitea

import (
	"context"
	"fmt"

	"github.com/pocketidp/pocketidp/internal/secret"
)

// Op is one seeding operation with its done-check, in the shape of an
// engine step: the tests run the whole seeding without the engine.
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
