package tui

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest/v2"
)

// plain is a view as a terminal without colour shows it: styles dropped
// (colorprofile's NoTTY profile, what a pipe gets), trailing blanks trimmed.
// Golden frames are plain so they do not depend on the colour profile of
// the machine that runs the tests.
func plain(s string) string {
	var b bytes.Buffer
	w := &colorprofile.Writer{Forward: &b, Profile: colorprofile.NoTTY}
	_, _ = io.WriteString(w, s)
	lines := strings.Split(b.String(), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.TrimRight(strings.Join(lines, "\n"), "\n")
}

// snapMsg asks the running program for its current frame. The filter answers
// it on the program's own goroutine, after every message sent before it.
type snapMsg struct{ reply chan string }

func snapFilter(m tea.Model, msg tea.Msg) tea.Msg {
	if s, ok := msg.(snapMsg); ok {
		s.reply <- plain(m.View().Content)
		return nil
	}
	return msg
}

// session drives a model in a real Bubble Tea program through teatest and
// collects named frames for one golden file per test.
type session struct {
	t      *testing.T
	tm     *teatest.TestModel
	frames strings.Builder
}

func start(t *testing.T, m tea.Model, width, height int) *session {
	t.Helper()
	tm := teatest.NewTestModel(t, m,
		teatest.WithInitialTermSize(width, height),
		teatest.WithProgramOptions(
			tea.WithFilter(snapFilter),
			tea.WithColorProfile(colorprofile.NoTTY),
		),
	)
	t.Cleanup(func() { _ = tm.Quit() })
	return &session{t: t, tm: tm}
}

// frame returns the current frame.
func (s *session) frame() string {
	s.t.Helper()
	reply := make(chan string, 1)
	s.tm.Send(snapMsg{reply: reply})
	select {
	case f := <-reply:
		return f
	case <-time.After(5 * time.Second):
		s.t.Fatal("no frame within 5s: the program is not running")
		return ""
	}
}

// waitFor polls frames until ok holds: key presses that move between huh
// fields and answers of commands arrive asynchronously.
func (s *session) waitFor(what string, ok func(string) bool) string {
	s.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	var f string
	for time.Now().Before(deadline) {
		if f = s.frame(); ok(f) {
			return f
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.t.Fatalf("waiting for %s; last frame:\n%s", what, f)
	return ""
}

func (s *session) waitText(text string) string {
	s.t.Helper()
	return s.waitFor(fmt.Sprintf("%q", text), func(f string) bool { return strings.Contains(f, text) })
}

// waitFocus waits until the huh field titled title has the focus (huh
// marks it with a thick left border): moving between fields is a command
// that runs after the key press, and keys typed before it land elsewhere.
func (s *session) waitFocus(title string) string {
	s.t.Helper()
	return s.waitText("┃ " + title)
}

// keep adds a frame to the golden file.
func (s *session) keep(name, frame string) {
	fmt.Fprintf(&s.frames, "── %s ──\n%s\n", name, frame)
}

func (s *session) golden() {
	s.t.Helper()
	golden.RequireEqual(s.t, s.frames.String())
}

func (s *session) key(k string) {
	s.tm.Send(keyPress(k))
}

// keyPress builds the key message a terminal would send for k.
func keyPress(k string) tea.KeyPressMsg {
	switch k {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "shift+tab":
		return tea.KeyPressMsg{Code: tea.KeyTab, Mod: tea.ModShift}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "left":
		return tea.KeyPressMsg{Code: tea.KeyLeft}
	case "right":
		return tea.KeyPressMsg{Code: tea.KeyRight}
	case "backspace":
		return tea.KeyPressMsg{Code: tea.KeyBackspace}
	case "space":
		return tea.KeyPressMsg{Code: tea.KeySpace, Text: " "}
	case "ctrl+c":
		return tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	}
	r := []rune(k)
	return tea.KeyPressMsg{Code: r[0], Text: k}
}

// clock is a settable fake clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

var t0 = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

// maxLineWidth is the widest line of a frame, in cells.
func maxLineWidth(f string) int {
	w := 0
	for _, l := range strings.Split(f, "\n") {
		w = max(w, ansi.StringWidth(l))
	}
	return w
}

// teatestTimeout bounds waiting for a program to end.
var teatestTimeout = teatest.WithFinalTimeout(10 * time.Second)
