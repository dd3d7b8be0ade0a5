package charts

import (
	"context"
	"fmt"
	"testing"

	"github.com/pocketidp/pocketidp/internal/testenv"
)

// BenchmarkApply measures the installer against the real API server and
// chart repository (stand-in charts, no pods to wait for): so the figures
// are the installer's and Helm's own cost, not a cluster's start-up time.
//
//	go test ./internal/charts -run '^$' -bench Apply -benchtime 20x
func BenchmarkApply(b *testing.B) {
	e := newEnv(b)
	ctx := context.Background()
	p := e.platform()
	ns := testenv.UniqueName(b)

	b.Run("install", func(b *testing.B) {
		n := 0
		for b.Loop() {
			rel := Traefik(p)
			rel.Name, rel.Namespace = fmt.Sprintf("install-%d", n), ns
			n++
			if res, err := e.inst.Apply(ctx, rel, nil); err != nil || res.Outcome != Installed {
				b.Fatalf("%+v %v", res, err)
			}
		}
	})

	rel := Gitea(p)
	rel.Namespace = ns + "-g"
	if _, err := e.inst.Apply(ctx, rel, nil); err != nil {
		b.Fatal(err)
	}
	b.Run("noop", func(b *testing.B) {
		for b.Loop() {
			if res, err := e.inst.Apply(ctx, rel, nil); err != nil || res.Outcome != Unchanged {
				b.Fatalf("%+v %v", res, err)
			}
		}
	})
	b.Run("done-check", func(b *testing.B) {
		for b.Loop() {
			if done, err := e.inst.Done(ctx, rel); err != nil || !done {
				b.Fatalf("%v %v", done, err)
			}
		}
	})
	b.Run("upgrade", func(b *testing.B) {
		n := 0
		for b.Loop() {
			q := p
			q.Port = 9000 + n%2 // alternate, so every apply is an upgrade
			n++
			r := Gitea(q)
			r.Namespace = rel.Namespace
			if res, err := e.inst.Apply(ctx, r, nil); err != nil || res.Outcome != Upgraded {
				b.Fatalf("%+v %v", res, err)
			}
		}
	})

	// Three independent releases, one after the other and all at once (the
	// registry is left out: kube-public holds one registry ConfigMap only).
	three := func(tag string, n int) []Release {
		rels := []Release{Traefik(p), Gitea(p), Agent(p)}
		for k := range rels {
			rels[k].Namespace = fmt.Sprintf("%s-%s-%d-%d", ns, tag, n, k)
		}
		return rels
	}
	b.Run("3-releases-sequential", func(b *testing.B) {
		n := 0
		for b.Loop() {
			for _, r := range three("seq", n) {
				if _, err := e.inst.Apply(ctx, r, nil); err != nil {
					b.Fatal(err)
				}
			}
			n++
		}
	})
	b.Run("3-releases-concurrent", func(b *testing.B) {
		n := 0
		for b.Loop() {
			if _, err := applyAll(ctx, e.inst, three("par", n)); err != nil {
				b.Fatal(err)
			}
			n++
		}
	})
}
