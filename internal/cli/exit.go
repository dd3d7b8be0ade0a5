package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/pocketidp/pocketidp/internal/bootstrap"
	"github.com/pocketidp/pocketidp/internal/config"
	"github.com/pocketidp/pocketidp/internal/tui"
)

// flatten lists the errors errors.Join put together (recursively), each
// as it was given.
func flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// problemKey is what two reports of one problem share: the bad input's own
// words, whichever check found it (the options' validation and the
// doctor's humanitec check both say "HUMANITEC_TOKEN is not set").
func problemKey(err error) string {
	var ie *config.InputError
	if errors.As(err, &ie) {
		return ie.Error()
	}
	return err.Error()
}

// joinProblems joins every problem found, each once, in the order found.
func joinProblems(errs ...error) error {
	var out []error
	var seen []string
	for _, err := range errs {
		for _, e := range flatten(err) {
			if k := problemKey(e); !slices.Contains(seen, k) {
				seen = append(seen, k)
				out = append(out, e)
			}
		}
	}
	return errors.Join(out...)
}

// failedSteps names the steps whose failure err reports, in order.
func failedSteps(err error) []string {
	var names []string
	for _, e := range flatten(err) {
		var se *bootstrap.StepError
		if errors.As(e, &se) && !slices.Contains(names, se.Step) {
			names = append(names, se.Step)
		}
	}
	return names
}

// badInput reports whether err is bad input found before anything was
// created: a mistake on the command line, invalid options, a pre-flight
// check, or the state step refusing changed options. Bad input met by a
// later step (something was made by then) is a failed step.
func badInput(err error) bool {
	var ue usageError
	if errors.As(err, &ue) {
		return true
	}
	for _, e := range flatten(err) {
		if !config.IsInput(e) {
			return false
		}
		var se *bootstrap.StepError
		if errors.As(e, &se) && !strings.HasPrefix(se.Step, "doctor/") && se.Step != bootstrap.StepState {
			return false
		}
	}
	return true
}

// interrupted reports a run stopped by Ctrl-C (or SIGTERM), not by a
// step's own deadline.
func interrupted(err error) bool { return errors.Is(err, context.Canceled) }

// writeProblems prints the problems, numbered under header when there are
// several, so a user fixes them all in one go.
func writeProblems(w io.Writer, problems []error, redact func(string) string, header string) {
	if len(problems) == 1 {
		fmt.Fprintf(w, "pocketidp: %s\n", indentJoined(redact(problems[0].Error())))
		return
	}
	fmt.Fprintf(w, "pocketidp: %s\n", header)
	for _, p := range problems {
		fmt.Fprintf(w, "  - %s\n", strings.ReplaceAll(redact(p.Error()), "\n", "\n    "))
	}
}

// interruptedMessage says what is true after Ctrl-C, where it came: a
// wizard or a selection left changes nothing; a run stopped before its
// state was written created nothing; an `up` stopped later resumes, a
// `down` stopped later finishes when run again.
func (a *app) interruptedMessage(err error) string {
	down := a.cmdName == "down"
	switch {
	case errors.Is(err, tui.ErrAborted) && down:
		return "cancelled: nothing was removed"
	case errors.Is(err, tui.ErrAborted):
		return "cancelled: nothing was created"
	case down && a.started:
		return "interrupted: what was removed stays removed; run `pocketidp down` again to remove the rest"
	case down:
		return "interrupted: nothing was removed"
	case a.started:
		return "interrupted: the state is saved; run `pocketidp up` again to resume where it stopped"
	default:
		return "interrupted before anything was created"
	}
}
