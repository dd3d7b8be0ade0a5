package report

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

func TestFromWith(t *testing.T) {
	// Nothing in the context: silent, and safe to use.
	From(context.Background()).Logger().Info("dropped")
	From(context.Background()).Step(1, 2, "dropped")

	var buf bytes.Buffer
	var steps []string
	r := Reporter{Log: slog.New(slog.NewTextHandler(&buf, nil)), Progress: func(cur, total int, msg string) {
		steps = append(steps, msg)
	}}
	ctx := With(context.Background(), r)
	From(ctx).Logger().Info("hello")
	From(ctx).Step(1, 2, "half")
	From(With(ctx, From(ctx).Quiet())).Step(2, 2, "not counted")
	if !strings.Contains(buf.String(), "hello") || len(steps) != 1 || steps[0] != "half" {
		t.Errorf("log %q, steps %v", buf.String(), steps)
	}
}
