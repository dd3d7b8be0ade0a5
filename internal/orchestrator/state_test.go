package orchestrator

import (
	"context"
	"testing"
)

// A collection saved as null (an empty map written by an older build) loads
// as the empty collection, ready to take objects.
func TestLoadNullCollections(t *testing.T) {
	st := NewMemoryStore()
	ctx := context.Background()
	for _, c := range newState().collections() {
		if err := st.Save(ctx, c.name, []byte("null")); err != nil {
			t.Fatal(err)
		}
	}
	s := newState()
	saved, err := s.load(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if len(saved) != len(s.collections()) {
		t.Errorf("saved = %d collections, want %d", len(saved), len(s.collections()))
	}
	if s.EnvTypes == nil || s.Apps == nil || s.Secrets == nil || s.Defs == nil || s.Classes == nil || s.Deltas == nil ||
		s.Deploys == nil || s.Sets == nil || s.Resources == nil || s.Agents == nil {
		t.Fatalf("a null collection loaded as nil: %+v", s)
	}
	s.Apps["a"] = &App{} // would panic on a nil map
}
