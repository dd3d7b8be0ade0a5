package cli

import (
	"testing"
	"time"
)

// BenchmarkUpDown times a whole install in existing-cluster mode against the
// test bed (real API server and Gitea, Humanitec fake at a 100 ms round
// trip): `up` from nothing, the converging re-run (nothing to do), and
// `down`. Each iteration gets a new bed, outside the timings: the bed's API
// server has no controller-manager, so a deleted namespace never finishes
// terminating and cannot be reused.
func BenchmarkUpDown(b *testing.B) {
	var ups, noops, downs time.Duration
	n := 0
	for b.Loop() {
		b.StopTimer()
		bed := newBed(b)
		bed.hum.SetLatency(100 * time.Millisecond)
		b.StartTimer()
		timed := func(into *time.Duration, cmd ...string) {
			start := time.Now()
			if r := bed.run(b, cmd...); r.code != 0 {
				b.Fatalf("%v: exit %d: %s", cmd, r.code, r.stderr)
			}
			*into += time.Since(start)
		}
		timed(&ups, "up", "--yes", "-o", "json")
		timed(&noops, "up", "--yes", "-o", "json")
		timed(&downs, "down", "--yes", "-o", "json")
		n++
	}
	b.ReportMetric(ups.Seconds()/float64(n), "s-up")
	b.ReportMetric(noops.Seconds()/float64(n), "s-up-noop")
	b.ReportMetric(downs.Seconds()/float64(n), "s-down")
}
