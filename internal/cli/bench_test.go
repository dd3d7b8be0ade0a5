package cli

import (
	"testing"
	"time"

	"github.com/pocketidp/pocketidp/internal/bootstrap"
)

// BenchmarkUpDown times a whole install in existing-cluster mode against the
// test bed (real API server and Gitea, Humanitec fake at a 100 ms round
// trip), on one bed per iteration:
//
//   - s-up-cold: `up` from nothing on a new bed (API server and Gitea just
//     started, empty state folder);
//   - s-up-noop: `up` again, the converging re-run (nothing to do);
//   - s-down: `down`, the mean of the two below;
//   - s-up-warm: `up` after `down` on the same bed: API server and Gitea
//     warm, everything PocketIDP makes made again. (The charts come from
//     --chart-dir archives in both cases: no chart download or cache.)
//
// Sequence: up, up, down, up, down; each new bed is set up outside the
// timings. The warm `up` starts right after `down`, while the namespaces
// `down` deleted may still be terminating: `up` waits for them to go.
func BenchmarkUpDown(b *testing.B) {
	var colds, noops, warms, downs time.Duration
	n := 0
	for b.Loop() {
		b.StopTimer()
		bed := newBed(b)
		bed.hum.SetLatency(100 * time.Millisecond)
		b.StartTimer()
		timed := func(into *time.Duration, cmd ...string) {
			start := time.Now()
			r := bed.run(b, cmd...)
			*into += time.Since(start)
			if r.code != 0 {
				b.Fatalf("%v (iteration %d): exit %d\nstderr: %s\nstdout: %s", cmd, n+1, r.code, r.stderr, r.stdout)
			}
			for step, kind := range statuses(b, r.stdout) {
				if kind == bootstrap.Failed {
					b.Fatalf("%v (iteration %d): step %s failed, yet exit 0\nstderr: %s", cmd, n+1, step, r.stderr)
				}
			}
		}
		timed(&colds, "up", "--yes", "-o", "json")
		timed(&noops, "up", "--yes", "-o", "json")
		timed(&downs, "down", "--yes", "-o", "json")
		timed(&warms, "up", "--yes", "-o", "json")
		timed(&downs, "down", "--yes", "-o", "json")
		n++
	}
	b.ReportMetric(colds.Seconds()/float64(n), "s-up-cold")
	b.ReportMetric(noops.Seconds()/float64(n), "s-up-noop")
	b.ReportMetric(warms.Seconds()/float64(n), "s-up-warm")
	b.ReportMetric(downs.Seconds()/float64(2*n), "s-down")
}
