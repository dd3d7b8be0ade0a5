package cli

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/pocketidp/pocketidp/internal/bootstrap"
	"github.com/pocketidp/pocketidp/internal/tui"
)

// StatusResult is the status of the last object of a JSON event stream.
const StatusResult = "result"

// runResult ends the JSON event stream of `up` and `down`: one object, in
// the events' own schema (time, step, status), saying how the run ended,
// so a script need not scrape stderr.
type runResult struct {
	Time        time.Time  `json:"time"`
	Step        string     `json:"step"`
	Status      string     `json:"status"`
	Outcome     string     `json:"outcome"` // ok, failed, bad_input, interrupted
	ExitCode    int        `json:"exit_code"`
	FailedSteps []string   `json:"failed_steps"`
	Error       string     `json:"error,omitempty"`
	Log         string     `json:"log,omitempty"`
	URLs        []tui.Link `json:"urls"`
}

// writeResult writes the result object after a JSON `up` or `down`.
func (a *app) writeResult(code int, err error) {
	if a.flags.output != "json" || (a.cmdName != "up" && a.cmdName != "down" && a.cmdName != "pocketidp") {
		return
	}
	r := runResult{Time: a.env.Now(), Step: a.cmdName, Status: StatusResult, ExitCode: code,
		FailedSteps: failedSteps(err), Log: a.logPath, URLs: a.urls}
	switch code {
	case ExitOK:
		r.Outcome = "ok"
	case ExitBadInput:
		r.Outcome = "bad_input"
	case ExitInterrupted:
		r.Outcome = "interrupted"
	default:
		r.Outcome = "failed"
	}
	if err != nil {
		r.Error = a.redactor.Redact(err.Error())
	}
	if r.FailedSteps == nil {
		r.FailedSteps = []string{}
	}
	if r.URLs == nil {
		r.URLs = []tui.Link{}
	}
	b, jerr := json.Marshal(r)
	if jerr != nil {
		return
	}
	fmt.Fprintf(a.env.Stdout, "%s\n", b)
}

// listEvents says, as log events, what `down` removes and keeps: the
// JSON form of tui.TeardownList.
func listEvents(sink bootstrap.Sink, items []tui.TeardownItem, now time.Time) {
	for _, it := range items {
		verb := "keeping"
		if it.Checked {
			verb = "removing"
		}
		msg := verb + " " + string(it.Group) + ": " + it.Description
		for _, o := range it.Objects {
			msg += "; " + o
		}
		sink.Emit(bootstrap.Event{Time: now, Step: "down", Kind: bootstrap.Log, Level: "INFO", Message: msg})
	}
}
