package humanitec

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/pocketidp/pocketidp/internal/config"
)

// APIError is an answer outside 2xx. It carries Humanitec's error body
// (error, message, details) and, for the statuses a user can act on, the
// fix.
type APIError struct {
	Method, Path string
	Status       int
	Code         string         // the body's "error", e.g. API-000
	Message      string         // the body's "message"
	Details      map[string]any // the body's "details"
	// Body is the raw answer when it was not a Humanitec error body (a
	// proxy's HTML page, or the list a 409 on delete returns).
	Body string

	org string
}

func newAPIError(method, path, org string, status int, data []byte) *APIError {
	e := &APIError{Method: method, Path: path, Status: status, org: org}
	var b struct {
		Error   string         `json:"error"`
		Message string         `json:"message"`
		Details map[string]any `json:"details"`
	}
	if json.Unmarshal(data, &b) == nil && (b.Error != "" || b.Message != "") {
		e.Code, e.Message, e.Details = b.Error, b.Message, b.Details
	} else {
		e.Body = strings.TrimSpace(string(data))
	}
	return e
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %d %s", e.Method, e.Path, e.Status, http.StatusText(e.Status))
	switch {
	case e.Code != "" || e.Message != "":
		b.WriteString(" (")
		if e.Code != "" {
			b.WriteString(e.Code + ": ")
		}
		b.WriteString(e.Message)
		if len(e.Details) > 0 {
			d, _ := json.Marshal(e.Details)
			b.WriteString(" details: " + string(d))
		}
		b.WriteString(")")
	case e.Body != "":
		body := e.Body
		if len(body) > 500 {
			body = body[:500] + "..."
		}
		b.WriteString(": " + body)
	}
	return b.String()
}

// Fix tells the user what to do, for the statuses that are theirs to fix.
func (e *APIError) Fix() string {
	switch e.Status {
	case http.StatusUnauthorized:
		return "the Humanitec token is wrong or expired: create an API token for a service user with the Administrator role " +
			"(https://app.humanitec.io/orgs/" + e.org + "/org-settings/service-users) and set HUMANITEC_TOKEN"
	case http.StatusForbidden:
		return "the token's user may not do this in org " + e.org + ": check HUMANITEC_ORG, and give the service user " +
			"the Administrator role in that org (or use a token of one that has it)"
	case http.StatusTooManyRequests:
		return "Humanitec is rate limiting this org: wait a minute and run again"
	}
	if e.Status >= 500 {
		return "Humanitec's API is failing (see https://status.humanitec.com): run again later; nothing already registered is lost"
	}
	return ""
}

// StatusOf returns the HTTP status of an API error in err's chain, or 0.
func StatusOf(err error) int {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}

// IsNotFound reports a 404.
func IsNotFound(err error) bool { return StatusOf(err) == http.StatusNotFound }

// IsConflict reports a 409.
func IsConflict(err error) bool { return StatusOf(err) == http.StatusConflict }

// ConflictError is an object PocketIDP wants that is in the way and not
// this install's: it is never adopted, overwritten or deleted.
type ConflictError struct {
	Kind, ID string
	// Reason says why the object is not this install's.
	Reason string
	// Criteria is set when the object itself is free but its matching
	// criteria are taken by another definition (named in Err).
	Criteria bool
	Err      error
}

func (e *ConflictError) Error() string {
	var msg string
	if e.Criteria {
		msg = fmt.Sprintf("Humanitec %s %s cannot be registered: its matching criteria are taken by a definition this install did not create", e.Kind, e.ID)
	} else {
		msg = fmt.Sprintf("Humanitec %s %s already exists and was not created by this install", e.Kind, e.ID)
	}
	if e.Reason != "" {
		msg += " (" + e.Reason + ")"
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *ConflictError) Unwrap() error { return e.Err }

// Fix says how to get past the conflict without PocketIDP touching someone
// else's object.
func (e *ConflictError) Fix() string {
	if e.Criteria {
		return "remove the other definition (or its matching criteria) in Humanitec; `pocketidp down --include-tutorial-objects` " +
			"removes definitions matched to " + EnvTypeID + " that PocketIDP did not create. Then run again"
	}
	return fmt.Sprintf("delete %s %s in Humanitec if it is a leftover, or start a new install (another --state-dir) so the names differ", e.Kind, e.ID)
}

// MissingAppError is an app whose deployments were asked for but that is
// not in Humanitec, or lacks the install's environment: deleted there after
// PocketIDP registered it.
type MissingAppError struct {
	App, Env string
	// EnvOnly is set when the app exists without the environment.
	EnvOnly bool
	Err     error
}

func (e *MissingAppError) Error() string {
	if e.EnvOnly {
		return fmt.Sprintf("Humanitec app %s has no environment %s (deleted outside PocketIDP?): %v", e.App, e.Env, e.Err)
	}
	return fmt.Sprintf("Humanitec app %s does not exist (deleted outside PocketIDP?): %v", e.App, e.Err)
}

func (e *MissingAppError) Unwrap() error { return e.Err }

// Fix says how to get the app back: `up` makes the app and environment
// again, but empty; only a build of the Backstage repository (gitea's
// DefaultRepo in the course's org) deploys Backstage into them.
func (e *MissingAppError) Fix() string {
	repo := config.DefaultGiteaOrg + "/backstage"
	return fmt.Sprintf("run `pocketidp up` again: it recreates app %s with its environment %s, but with nothing deployed; "+
		"then push a commit to %s (or re-run its last workflow in Gitea's Actions tab) so the build deploys Backstage again",
		e.App, e.Env, repo)
}

// usersOf reads the body of a 409 on DELETE /env-types/{id}: a list of
// objects naming the environments that still use the type.
func usersOf(err error) []string {
	var ae *APIError
	if !errors.As(err, &ae) || ae.Body == "" {
		return nil
	}
	var list []map[string]string
	if json.Unmarshal([]byte(ae.Body), &list) != nil {
		return nil
	}
	var out []string
	for _, m := range list {
		if a := m["app_id"]; a != "" && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}
