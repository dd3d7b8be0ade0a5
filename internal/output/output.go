// Package output renders the engine's event stream for headless runs: one
// stable plain-text line per event, or one JSON object per line.
package output

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"charm.land/lipgloss/v2"

	"github.com/pocketidp/pocketidp/internal/bootstrap"
)

// Text writes one line per event: time, step, status, message. Colour is
// used only when Color is set (a terminal); pipes and log files get none.
type Text struct {
	W     io.Writer
	Color bool
	// MinLevel hides log events below it (debug lines go to the log file).
	MinLevel slog.Level
}

// warningStatus is the status column of a log event at warning level or
// above.
const warningStatus bootstrap.Kind = "warning"

var statusStyle = map[bootstrap.Kind]lipgloss.Style{
	warningStatus:     lipgloss.NewStyle().Foreground(lipgloss.Yellow),
	bootstrap.Done:    lipgloss.NewStyle().Foreground(lipgloss.Green),
	bootstrap.Skipped: lipgloss.NewStyle().Foreground(lipgloss.BrightBlack),
	bootstrap.Failed:  lipgloss.NewStyle().Foreground(lipgloss.Red).Bold(true),
	bootstrap.Started: lipgloss.NewStyle().Foreground(lipgloss.Cyan),
}

// Emit writes e.
func (t *Text) Emit(e bootstrap.Event) {
	if e.Kind == bootstrap.Log && logLevel(e.Level) < t.MinLevel {
		return
	}
	kind := e.Kind
	if kind == bootstrap.Log && logLevel(e.Level) >= slog.LevelWarn {
		// A warning reads as one, not as a log line among others.
		kind = warningStatus
	}
	status := fmt.Sprintf("%-8s", kind)
	if st, ok := statusStyle[kind]; ok && t.Color {
		status = st.Render(status)
	}
	fmt.Fprintln(t.W, strings.TrimRight(fmt.Sprintf("%s %-24s %s %s", e.Time.Format("15:04:05"), e.Step, status, Message(e)), " "))
}

// Message is the human text of an event, shared by every renderer: the
// fraction of a progress event, the duration of a finished step, the fix of a
// failure.
func Message(e bootstrap.Event) string {
	msg := strings.ReplaceAll(e.Message, "\n", " ")
	switch e.Kind {
	case bootstrap.Progress:
		if e.Total > 0 {
			msg = strings.TrimSpace(fmt.Sprintf("[%d/%d] %s", e.Current, e.Total, msg))
		}
	case bootstrap.Done, bootstrap.Skipped:
		if e.Kind == bootstrap.Skipped && msg == "" {
			msg = "already in place"
		}
		msg = strings.TrimSpace(fmt.Sprintf("%s (%s)", msg, e.Elapsed.Round(time.Millisecond)))
	case bootstrap.Failed:
		if e.Fix != "" && !strings.Contains(msg, e.Fix) {
			msg += " (fix: " + e.Fix + ")"
		}
	}
	return msg
}

func logLevel(s string) slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return slog.LevelInfo
	}
	return l
}

// JSON writes one JSON object per event, for scripts.
type JSON struct {
	W        io.Writer
	MinLevel slog.Level
}

// Emit writes e.
func (j *JSON) Emit(e bootstrap.Event) {
	if e.Kind == bootstrap.Log && logLevel(e.Level) < j.MinLevel {
		return
	}
	b, err := json.Marshal(e)
	if err != nil {
		return // an Event always marshals; nothing useful to do otherwise
	}
	fmt.Fprintf(j.W, "%s\n", b)
}
