// Package report is how the packages that do a step's work tell the step
// what they do: its log lines and, when they know it, how far they are. The
// engine puts a Reporter into every step's context; a package reads it with
// From, whatever it is (a client, a seeder, an installer). One way,
// everywhere, and nothing to pass along by hand.
package report

import (
	"context"
	"log/slog"
)

// Reporter receives a step's log lines and progress.
type Reporter struct {
	// Log gets the lines; nil drops them.
	Log *slog.Logger
	// Progress gets "current of total: msg" (total 0 when unknown); nil
	// drops it.
	Progress func(current, total int, msg string)
}

type key struct{}

// With returns ctx carrying r.
func With(ctx context.Context, r Reporter) context.Context {
	return context.WithValue(ctx, key{}, r)
}

// From returns the Reporter ctx carries: a silent one when none.
func From(ctx context.Context) Reporter {
	r, _ := ctx.Value(key{}).(Reporter)
	return r
}

// Logger is r's logger, never nil.
func (r Reporter) Logger() *slog.Logger {
	if r.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Log
}

// Step reports progress, when anyone listens.
func (r Reporter) Step(current, total int, msg string) {
	if r.Progress != nil {
		r.Progress(current, total, msg)
	}
}

// Quiet is r without its progress: for work inside another whose progress
// counts already.
func (r Reporter) Quiet() Reporter { return Reporter{Log: r.Log} }
