package output

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/pocketidp/pocketidp/internal/bootstrap"
)

var t0 = time.Date(2026, 11, 27, 21, 4, 5, 0, time.UTC)

var events = []bootstrap.Event{
	{Time: t0, Step: "doctor/engine", Kind: bootstrap.Started},
	{Time: t0, Step: "doctor/engine", Kind: bootstrap.Log, Level: "DEBUG", Message: "exec docker version"},
	{Time: t0, Step: "humanitec/definitions", Kind: bootstrap.Progress, Current: 2, Total: 6, Message: "dns"},
	{Time: t0, Step: "gitea/seed", Kind: bootstrap.Log, Level: "INFO", Message: "org 5minorg\nexists"},
	{Time: t0, Step: "doctor/engine", Kind: bootstrap.Done, Elapsed: 1234 * time.Millisecond},
	{Time: t0, Step: "cluster", Kind: bootstrap.Skipped, Elapsed: 3 * time.Millisecond},
	{Time: t0, Step: "doctor/port", Kind: bootstrap.Failed, Message: "port 8443 is in use", Fix: "pass --port 9443"},
}

func TestTextLines(t *testing.T) {
	var b bytes.Buffer
	r := &Text{W: &b, MinLevel: slog.LevelInfo}
	for _, e := range events {
		r.Emit(e)
	}
	want := `21:04:05 doctor/engine            started
21:04:05 humanitec/definitions    progress [2/6] dns
21:04:05 gitea/seed               log      org 5minorg exists
21:04:05 doctor/engine            done     (1.234s)
21:04:05 cluster                  skipped  already in place (3ms)
21:04:05 doctor/port              failed   port 8443 is in use (fix: pass --port 9443)
`
	if b.String() != want {
		t.Fatalf("got:\n%s\nwant:\n%s", b.String(), want)
	}
	if strings.Contains(b.String(), "\x1b[") {
		t.Fatal("escape codes without colour")
	}
}

func TestTextColour(t *testing.T) {
	var b bytes.Buffer
	(&Text{W: &b, Color: true}).Emit(events[len(events)-1])
	if !strings.Contains(b.String(), "\x1b[") {
		t.Fatalf("no colour on a terminal: %q", b.String())
	}
}

func TestJSONLines(t *testing.T) {
	var b bytes.Buffer
	r := &JSON{W: &b, MinLevel: slog.LevelDebug}
	for _, e := range events {
		r.Emit(e)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != len(events) {
		t.Fatalf("%d lines for %d events", len(lines), len(events))
	}
	var got bootstrap.Event
	if err := json.Unmarshal([]byte(lines[2]), &got); err != nil {
		t.Fatal(err)
	}
	if got.Step != "humanitec/definitions" || got.Kind != bootstrap.Progress || got.Current != 2 || got.Total != 6 || !got.Time.Equal(t0) {
		t.Fatalf("round trip: %+v", got)
	}
	if !strings.Contains(lines[6], `"status":"failed"`) || !strings.Contains(lines[6], `"fix":"pass --port 9443"`) {
		t.Fatalf("failed line: %s", lines[6])
	}
}

// TestTextWarnings: a warning is marked as one in the status column, not
// as a log line (issue 14, point 13).
func TestTextWarnings(t *testing.T) {
	var b bytes.Buffer
	(&Text{W: &b, MinLevel: slog.LevelInfo}).Emit(bootstrap.Event{Time: t0, Step: "doctor/inotify", Kind: bootstrap.Log, Level: "WARN",
		Message: "max_user_watches=8192 (fix: sudo sysctl fs.inotify.max_user_watches=524288)"})
	if want := "21:04:05 doctor/inotify           warning  max_user_watches=8192 (fix: sudo sysctl fs.inotify.max_user_watches=524288)\n"; b.String() != want {
		t.Errorf("got  %q\nwant %q", b.String(), want)
	}
}
