package orchestrator

import (
	"cmp"
	"slices"
)

// What the state keeps, so that it stays within one Kubernetes object per
// collection (maxObjectData) over a whole course: each image a CI run
// deploys makes a new set and a new delta.
const (
	keepDeploysPerEnv = 50
	keepDeltasPerApp  = 50
)

// trim drops the oldest deployments of an environment beyond
// keepDeploysPerEnv (but those an environment builds on), the oldest deltas of an app beyond keepDeltasPerApp,
// and the sets nothing refers to any more. Under s.mu.
func (s *state) trim(app, env string) {
	key := envKey(app, env)
	// Deployments environments build on stay, however old: a preview
	// environment made from one has not deployed yet.
	base := map[string]bool{}
	for _, a := range s.Apps {
		for _, e := range a.Envs {
			base[e.FromDeployID] = true
		}
	}
	if ds := s.Deploys[key]; len(ds) > keepDeploysPerEnv {
		cut := len(ds) - keepDeploysPerEnv
		kept := slices.DeleteFunc(slices.Clone(ds[:cut]), func(d *Deploy) bool { return !base[d.ID] })
		s.Deploys[key] = append(kept, ds[cut:]...)
	}
	var deltas []*Delta
	for _, d := range s.Deltas {
		if d.AppID == app {
			deltas = append(deltas, d)
		}
	}
	if len(deltas) > keepDeltasPerApp {
		slices.SortFunc(deltas, func(a, b *Delta) int { return cmp.Or(cmp.Compare(a.CreatedAt, b.CreatedAt), cmp.Compare(a.ID, b.ID)) })
		for _, d := range deltas[:len(deltas)-keepDeltasPerApp] {
			delete(s.Deltas, d.ID)
		}
	}
	used := map[string]bool{}
	for _, ds := range s.Deploys {
		for _, d := range ds {
			used[d.SetID] = true
		}
	}
	for id := range s.Sets {
		if !used[id] {
			delete(s.Sets, id)
		}
	}
}
