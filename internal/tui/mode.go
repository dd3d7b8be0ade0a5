// Package tui is the terminal experience of pocketidp: the wizard before
// `up`, live progress, the summary and failure cards, the teardown selection
// and the status view, on Charm's v2 stack.
//
// It is only a renderer of the engine's event stream and of inputs the
// commands computed: every decision (what runs, what is skipped, what is
// removed) is made by the same code the headless mode runs. The entry points
// take tea.ProgramOptions so tests can drive them with their own input and
// output.
package tui

import (
	"errors"
	"strings"
)

// ErrAborted is returned when the user leaves a wizard or selection without
// confirming. Nothing was created or removed.
var ErrAborted = errors.New("cancelled: nothing was changed")

// Mode is how a command talks to the user.
type Mode int

// The modes, from the least to the most interactive.
const (
	// Plain writes one line per event and asks nothing (output.Text).
	Plain Mode = iota
	// JSON writes one JSON object per event and asks nothing (output.JSON).
	JSON
	// Accessible asks with huh's accessible prompts (plain lines a screen
	// reader can follow) and shows progress as plain lines.
	Accessible
	// Interactive runs the Bubble Tea programs.
	Interactive
)

func (m Mode) String() string {
	switch m {
	case JSON:
		return "json"
	case Accessible:
		return "accessible"
	case Interactive:
		return "interactive"
	default:
		return "plain"
	}
}

// Asks reports whether the mode may ask the user anything.
func (m Mode) Asks() bool { return m == Accessible || m == Interactive }

// ModeInput is what decides the mode, gathered before any program starts.
type ModeInput struct {
	// IsTTY is true when both stdin and stdout are terminals: a wizard needs
	// keys and a screen.
	IsTTY bool
	// Yes is --yes: ask nothing.
	Yes bool
	// Output is -o (text or json).
	Output string
	// Accessible is an explicit request for accessible prompts.
	Accessible bool
	// Getenv reads CODER, CI, TERM and ACCESSIBLE; nil reads nothing.
	Getenv func(string) string
}

// SelectMode decides how to talk to the user. Bubble Tea needs a terminal,
// and a Coder startup script or a CI job has nobody to answer, so those get
// plain lines (or JSON when asked for) before anything else is considered.
func SelectMode(in ModeInput) Mode {
	get := in.Getenv
	if get == nil {
		get = func(string) string { return "" }
	}
	if in.Output == "json" {
		return JSON
	}
	if !in.IsTTY || in.Yes || truthy(get("CODER")) || truthy(get("CI")) {
		return Plain
	}
	// TERM=dumb cannot move the cursor; huh does the same switch on its own.
	if in.Accessible || truthy(get("ACCESSIBLE")) || get("TERM") == "dumb" {
		return Accessible
	}
	return Interactive
}

// truthy reads a boolean environment variable the way CI systems set them
// (CI=true, CI=1, CI=yes).
func truthy(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}
