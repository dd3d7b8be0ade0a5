package humanitec

import (
	"context"
	"testing"
	"time"

	"github.com/pocketidp/pocketidp/internal/humanitec/humanitectest"
)

// BenchmarkRegistration100ms registers a whole install against the fake at a
// simulated 100 ms round trip, once with calls overlapped (independent
// groups at once, objects within a group at once, at most 8 calls on the
// wire) and once one call at a time (MaxInFlight 1, same code), and reports
// both and their ratio.
//
//	go test -run XXX -bench . -benchtime 1x ./internal/humanitec/...
func BenchmarkRegistration100ms(b *testing.B) {
	const rtt = 100 * time.Millisecond
	run := func(inFlight int) (time.Duration, int) {
		b.StopTimer()
		fake := humanitectest.New(b, humanitectest.WithLatency(rtt))
		e := newEnv(b, fake, withInFlight(inFlight))
		b.StartTimer()
		start := time.Now()
		if err := e.reg.RegisterAll(context.Background()); err != nil {
			b.Fatal(err)
		}
		d := time.Since(start)
		b.StopTimer()
		if got := len(withoutKeys(fake.Objects(humanitectest.DefaultOrg))); got != len(registered()) {
			b.Fatalf("registered %d objects, want %d", got, len(registered()))
		}
		return d, len(fake.Calls())
	}
	var over, serial time.Duration
	var calls int
	for range b.N {
		o, n := run(8)
		s, _ := run(1)
		over += o
		serial += s
		calls = n
	}
	n := float64(b.N)
	b.ReportMetric(over.Seconds()*1000/n, "overlapped-ms")
	b.ReportMetric(serial.Seconds()*1000/n, "one-at-a-time-ms")
	b.ReportMetric(serial.Seconds()/over.Seconds(), "speedup")
	b.ReportMetric(float64(calls), "calls")
}

// BenchmarkNoOpRerun100ms is a second run on a converged install at the
// same round trip: reads only.
func BenchmarkNoOpRerun100ms(b *testing.B) {
	fake := humanitectest.New(b, humanitectest.WithLatency(100*time.Millisecond))
	e := newEnv(b, fake)
	if err := e.reg.RegisterAll(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		fake.ResetCalls()
		if err := e.reg.RegisterAll(context.Background()); err != nil {
			b.Fatal(err)
		}
		if w := fake.Writes(); len(w) != 0 {
			b.Fatalf("re-run wrote %v", w)
		}
	}
	b.ReportMetric(float64(len(fake.Calls())), "calls")
}
