package gitea

import (
	"context"
	"testing"

	"github.com/pocketidp/pocketidp/internal/testenv"
)

// BenchmarkSeed measures a cold seed (org, migration of a small repository
// from the same Gitea, variables, secret, runner token check, trigger
// commit) and a no-op re-run against the real Gitea. Each cold iteration
// seeds a new org with a new state.
func BenchmarkSeed(b *testing.B) {
	g := testenv.Gitea(b)
	up := makeUpstream(b, g)
	ctx := context.Background()
	// A registered runner, as in a finished install.
	tok, err := newFixture(b, g, up.URL).seeder().RunnerToken(ctx)
	if err != nil {
		b.Fatal(err)
	}
	testenv.ActionsRunner(b, testenv.RunnerOptions{GiteaURL: g.URL, RegistrationToken: tok.Reveal(), RegisterOnly: true})

	b.Run("cold", func(b *testing.B) {
		requests := 0
		for b.Loop() {
			b.StopTimer()
			f := newFixture(b, g, up.URL)
			b.StartTimer()
			if _, err := f.seeder().Seed(ctx); err != nil {
				b.Fatal(err)
			}
			requests = len(f.rec.all())
		}
		b.ReportMetric(float64(requests), "requests/op")
	})

	b.Run("noop", func(b *testing.B) {
		f := newFixture(b, g, up.URL)
		if _, err := f.seeder().Seed(ctx); err != nil {
			b.Fatal(err)
		}
		f.rec.reset()
		for b.Loop() {
			if _, err := f.seeder().Seed(ctx); err != nil {
				b.Fatal(err)
			}
		}
		if w := f.rec.writes(); len(w) != 0 {
			b.Fatalf("the no-op seed wrote %v", w)
		}
		b.ReportMetric(float64(len(f.rec.all()))/float64(b.N), "requests/op")
	})
}
