package tui

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/pocketidp/pocketidp/internal/bootstrap"
	"github.com/pocketidp/pocketidp/internal/config"
)

var planSteps = []string{
	"doctor/engine", "state", "ca", "cluster", "ingress",
	"gitea/chart", "gitea/seed", "humanitec/apps", "backstage/trigger",
}

// firstHalf is a scripted stream up to 47s into a run: finished, skipped
// and running steps, one with a fraction, and log lines.
func firstHalf() []bootstrap.Event {
	return []bootstrap.Event{
		{Time: at(0), Step: "doctor/engine", Kind: bootstrap.Started},
		{Time: at(300 * time.Millisecond), Step: "doctor/engine", Kind: bootstrap.Log, Level: "INFO", Message: "docker 28.1 answers"},
		{Time: at(300 * time.Millisecond), Step: "doctor/engine", Kind: bootstrap.Done, Elapsed: 300 * time.Millisecond},
		{Time: at(400 * time.Millisecond), Step: "state", Kind: bootstrap.Skipped, Elapsed: 12 * time.Millisecond},
		{Time: at(time.Second), Step: "ca", Kind: bootstrap.Started},
		{Time: at(1200 * time.Millisecond), Step: "ca", Kind: bootstrap.Done, Elapsed: 200 * time.Millisecond},
		{Time: at(2 * time.Second), Step: "cluster", Kind: bootstrap.Started},
		{Time: at(5 * time.Second), Step: "cluster", Kind: bootstrap.Log, Level: "INFO", Message: "creating node container 5min-idp-control-plane"},
		{Time: at(6 * time.Second), Step: "cluster", Kind: bootstrap.Log, Level: "DEBUG", Message: "docker run --privileged …"},
		{Time: at(30 * time.Second), Step: "gitea/chart", Kind: bootstrap.Started},
		{Time: at(40 * time.Second), Step: "gitea/chart", Kind: bootstrap.Progress, Current: 2, Total: 5, Message: "pulling chart gitea-12.1.0"},
		{Time: at(41 * time.Second), Step: "humanitec/apps", Kind: bootstrap.Started},
		{Time: at(45 * time.Second), Step: "humanitec/apps", Kind: bootstrap.Progress, Current: 1, Total: 4, Message: "app 5min-idp-abcd"},
		{Time: at(46 * time.Second), Step: "humanitec/apps", Kind: bootstrap.Log, Level: "WARN", Message: "429 from Humanitec, retrying in 2s"},
	}
}

// newTestProgress is the progress model with a fixed clock, no animation
// and a cancel func that counts its calls.
func newTestProgress(c *clock, cancels *atomic.Int32) *progressModel {
	return newProgressModel(ProgressInput{
		Title:   "creating 5min-idp",
		Steps:   planSteps,
		LogPath: "/home/ada/.cache/pocketidp/logs/up-20260314-092653.log",
		Resume:  "pocketidp up",
		Now:     c.now,
	}, func() { cancels.Add(1) }, false)
}

func sendAll(s *session, events []bootstrap.Event) {
	for _, e := range events {
		s.tm.Send(e)
	}
}

func TestProgressScriptedStreamWithFailure(t *testing.T) {
	c := &clock{t: t0}
	var cancels atomic.Int32
	s := start(t, newTestProgress(c, &cancels), 80, 24)

	s.keep("start", s.waitText("waiting"))

	c.set(at(47 * time.Second))
	sendAll(s, firstHalf())
	running := s.waitText("429 from Humanitec")
	s.keep("running at 47s", running)

	c.set(at(2*time.Minute + 3*time.Second))
	fail := fmt.Errorf("create org 5minorg: %w", errors.New("401 Unauthorized"))
	sendAll(s, []bootstrap.Event{
		{Time: at(50 * time.Second), Step: "cluster", Kind: bootstrap.Done, Elapsed: 48 * time.Second},
		{Time: at(55 * time.Second), Step: "ingress", Kind: bootstrap.Started},
		{Time: at(80 * time.Second), Step: "ingress", Kind: bootstrap.Done, Elapsed: 25 * time.Second},
		{Time: at(90 * time.Second), Step: "gitea/chart", Kind: bootstrap.Done, Elapsed: time.Minute},
		{Time: at(95 * time.Second), Step: "humanitec/apps", Kind: bootstrap.Done, Elapsed: 54 * time.Second},
		{Time: at(96 * time.Second), Step: "gitea/seed", Kind: bootstrap.Started},
		{Time: at(2 * time.Minute), Step: "gitea/seed", Kind: bootstrap.Failed, Elapsed: 24 * time.Second,
			Message: fail.Error(), Fix: "the Gitea admin password changed: set GITEA_ADMIN_PASSWORD or reset it with gitea admin user change-password"},
	})
	s.tm.Send(finishedMsg{err: &bootstrap.StepError{Step: "gitea/seed", Err: fail}})

	final := s.tm.FinalModel(t, teatestTimeout).(*progressModel)
	frame := plain(final.View().Content)
	s.keep("failed", frame)
	s.golden()

	for _, want := range []string{"Step gitea/seed failed", "401 Unauthorized", "fix", "up-20260314-092653.log", "pocketidp up"} {
		if !strings.Contains(frame, want) {
			t.Errorf("failure card lacks %q", want)
		}
	}
	if cancels.Load() != 0 {
		t.Errorf("cancel called %d times on a failure; the engine stops by itself", cancels.Load())
	}
	if strings.Contains(running, "docker run --privileged") {
		t.Error("a debug line reached the log tail without Verbose")
	}
}

func TestProgressSummaryCard(t *testing.T) {
	c := &clock{t: t0}
	var cancels atomic.Int32
	s := start(t, newTestProgress(c, &cancels), 80, 30)
	var events []bootstrap.Event
	for i, name := range planSteps {
		kind := bootstrap.Done
		if name == "state" {
			kind = bootstrap.Skipped
		}
		events = append(events, bootstrap.Event{Time: at(time.Duration(i) * 10 * time.Second), Step: name, Kind: kind, Elapsed: 10 * time.Second})
	}
	sendAll(s, events)
	c.set(at(3*time.Minute + 2*time.Second))
	s.tm.Send(finishedMsg{summary: &Summary{
		InstallID: "abcd", Port: 8443,
		Logins:        []Login{{Service: "Gitea", User: "5minadmin", Password: "5minadmin"}},
		HumanitecOrg:  "acme",
		HumanitecApps: []string{"5min-idp-abcd", "5min-backstage-abcd"},
		LogPath:       "/home/ada/.cache/pocketidp/logs/up-20260314-092653.log",
	}})
	final := s.tm.FinalModel(t, teatestTimeout).(*progressModel)
	frame := plain(final.View().Content)
	s.keep("done", frame)
	s.golden()
	for _, want := range []string{"done in 3m02s", "8 done · 1 already in place", "https://git.localhost:8443", "5min-backstage-abcd", "add :8443"} {
		if !strings.Contains(frame, want) {
			t.Errorf("final frame lacks %q", want)
		}
	}
}

func TestProgressResize(t *testing.T) {
	c := &clock{t: t0}
	var cancels atomic.Int32
	s := start(t, newTestProgress(c, &cancels), 80, 24)
	c.set(at(47 * time.Second))
	sendAll(s, firstHalf())
	s.keep("80x24", s.waitText("429 from Humanitec"))

	s.tm.Send(tea.WindowSizeMsg{Width: 48, Height: 12})
	narrow := s.waitFor("the narrow layout", func(f string) bool { return maxLineWidth(f) <= 48 })
	s.keep("48x12", narrow)
	if h := strings.Count(narrow, "\n") + 1; h > 12 {
		t.Errorf("frame is %d lines on a 12-line terminal", h)
	}

	s.tm.Send(tea.WindowSizeMsg{Width: 100, Height: 30})
	wide := s.waitFor("the wide layout", func(f string) bool { return strings.Contains(f, "ingress") })
	s.keep("100x30", wide)
	s.golden()
}

func TestProgressCtrlCAsksThenCancels(t *testing.T) {
	c := &clock{t: t0}
	var cancels atomic.Int32
	s := start(t, newTestProgress(c, &cancels), 80, 24)
	c.set(at(47 * time.Second))
	sendAll(s, firstHalf())
	s.waitText("429 from Humanitec")

	s.key("ctrl+c")
	asking := s.waitText("Stop now?")
	s.keep("first ctrl+c asks", asking)
	if n := cancels.Load(); n != 0 {
		t.Fatalf("the first Ctrl-C cancelled (%d calls); it must only ask", n)
	}
	s.key("x")
	s.waitFor("the question to go away", func(f string) bool { return !strings.Contains(f, "Stop now?") })
	if n := cancels.Load(); n != 0 {
		t.Fatalf("continuing cancelled the run (%d calls)", n)
	}

	s.key("ctrl+c")
	s.waitText("Stop now?")
	s.key("ctrl+c")
	stopping := s.waitText("Stopping")
	s.keep("second ctrl+c cancels", stopping)
	if n := cancels.Load(); n != 1 {
		t.Fatalf("cancel called %d times after the confirmed Ctrl-C, want 1", n)
	}
	s.key("ctrl+c")

	// The engine reports what the cancellation cut short, then returns.
	c.set(at(49 * time.Second))
	sendAll(s, []bootstrap.Event{
		{Time: at(48 * time.Second), Step: "cluster", Kind: bootstrap.Failed, Elapsed: 46 * time.Second, Message: "interrupted: context canceled"},
		{Time: at(48 * time.Second), Step: "gitea/chart", Kind: bootstrap.Failed, Elapsed: 18 * time.Second, Message: "interrupted: context canceled"},
		{Time: at(48 * time.Second), Step: "humanitec/apps", Kind: bootstrap.Failed, Elapsed: 7 * time.Second, Message: "interrupted: context canceled"},
	})
	s.tm.Send(finishedMsg{err: fmt.Errorf("interrupted: %w", context.Canceled)})
	final := s.tm.FinalModel(t, teatestTimeout).(*progressModel)
	frame := plain(final.View().Content)
	s.keep("stopped", frame)
	s.golden()
	if n := cancels.Load(); n != 1 {
		t.Errorf("cancel called %d times in all, want 1", n)
	}
	for _, want := range []string{"Stopped", "finished  3 of 9 steps", "cluster, gitea/chart, humanitec/apps", "Run `pocketidp up` to resume"} {
		if !strings.Contains(frame, want) {
			t.Errorf("stopped card lacks %q", want)
		}
	}
}

// TestRunProgress runs the entry point the CLI uses, with a scripted run
// behind the Sink adapter, on a plain buffer as the terminal.
func TestRunProgress(t *testing.T) {
	var out bytes.Buffer
	runErr := errors.New("boom")
	tests := []struct {
		name    string
		err     error
		wantErr error
		want    string
	}{
		{"success", nil, nil, "PocketIDP is up"},
		{"failure", &bootstrap.StepError{Step: "ca", Err: runErr}, runErr, "Step ca failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out.Reset()
			err := RunProgress(context.Background(), ProgressInput{
				Title: "creating 5min-idp",
				Steps: []string{"state", "ca"},
				Run: func(ctx context.Context, sink bootstrap.Sink) (*Summary, error) {
					sink.Emit(bootstrap.Event{Step: "state", Kind: bootstrap.Done})
					if tt.err != nil {
						sink.Emit(bootstrap.Event{Step: "ca", Kind: bootstrap.Failed, Message: tt.err.Error()})
						return nil, tt.err
					}
					sink.Emit(bootstrap.Event{Step: "ca", Kind: bootstrap.Done})
					return &Summary{Port: config.DefaultPort}, nil
				},
				ProgramOptions: []tea.ProgramOption{
					tea.WithInput(&bytes.Buffer{}), tea.WithOutput(&out), tea.WithWindowSize(80, 24),
				},
			})
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("RunProgress() = %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(out.String(), tt.want) {
				t.Errorf("output lacks %q:\n%s", tt.want, out.String())
			}
		})
	}
}

// TestProgressDownSaysWhatIsTrue: Ctrl-C while `down` removes does not
// promise a resume; it says what stays removed and how to remove the rest
// (issue 14, point 8).
func TestProgressDownSaysWhatIsTrue(t *testing.T) {
	c := &clock{t: t0}
	m := newProgressModel(ProgressInput{Title: "removing 5min-idp", Steps: []string{"cluster"}, Resume: "pocketidp down", Undo: true, Now: c.now}, func() {}, false)
	s := start(t, m, 80, 24)
	s.key("ctrl+c")
	asking := s.waitText("Stop now?")
	if strings.Contains(asking, "resumes") || !strings.Contains(strings.Join(strings.Fields(asking), " "), "what is removed stays removed") {
		t.Errorf("the question is not true for down:\n%s", asking)
	}
	s.key("ctrl+c")
	s.tm.Send(finishedMsg{err: fmt.Errorf("interrupted: %w", context.Canceled)})
	final := plain(s.tm.FinalModel(t, teatestTimeout).(*progressModel).View().Content)
	if strings.Contains(final, "to resume") || !strings.Contains(final, "What is removed stays removed. Run `pocketidp down` again") {
		t.Errorf("the stopped card is not true for down:\n%s", final)
	}
}
