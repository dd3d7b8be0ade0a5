package humanitec

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// Following a deployment: once PocketIDP has triggered the Backstage build,
// the CI (humctl score deploy) deploys into the Backstage app's environment,
// and the engine polls Deployment until it has finished.

// Deployment is a deployment of an app into EnvID, as the user follows it.
type Deployment struct {
	ID  string
	App string
	// Status is one of the Deploy* constants.
	Status string
	// Comment is what the deployment was made with (the CI passes the
	// commit message).
	Comment   string
	CreatedAt time.Time
	// StatusChangedAt is when Status last changed: when the deployment
	// finished, once it has.
	StatusChangedAt time.Time
	// Errors is set when the deployment failed: one line per error
	// Humanitec reports, "<scope> <object>: <summary>: <message> (<code>)".
	Errors []string
	// Host is set when the deployment succeeded: the host name its route
	// is reached at (see routeHost); empty when the environment has no dns
	// resource.
	Host string
}

// Finished reports whether the deployment succeeded or failed.
func (d Deployment) Finished() bool { return d.Status == DeploySucceeded || d.Status == DeployFailed }

// Succeeded reports whether the deployment succeeded.
func (d Deployment) Succeeded() bool { return d.Status == DeploySucceeded }

// Summary is one line on the deployment's progress.
func (d Deployment) Summary() string {
	what := fmt.Sprintf("Humanitec deployment %s of %s", d.ID, d.App)
	if c := headline(d.Comment); c != "" {
		what += fmt.Sprintf(" (%q)", c)
	}
	switch d.Status {
	case DeployPending:
		return what + " is waiting to start"
	case DeployInProgress:
		return what + " is in progress"
	case DeploySucceeded:
		if d.Host == "" {
			return what + " succeeded, but its environment has no dns resource to give its address"
		}
		return what + " succeeded: " + d.Host
	case DeployFailed:
		switch len(d.Errors) {
		case 0:
			return what + " failed (Humanitec lists no errors)"
		case 1:
			return what + " failed: " + d.Errors[0]
		}
		return fmt.Sprintf("%s failed: %s (and %d more)", what, d.Errors[0], len(d.Errors)-1)
	}
	return fmt.Sprintf("%s has status %q", what, d.Status)
}

// headline is the first line of a comment, cut to a length that fits a
// progress line.
func headline(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	s = strings.TrimSpace(s)
	if r := []rune(s); len(r) > 60 {
		s = string(r[:59]) + "…"
	}
	return s
}

// line is the readable form of a deployment error.
func (e DeployError) line() string {
	var b strings.Builder
	if e.Scope != "" || e.ObjectID != "" {
		b.WriteString(strings.TrimSpace(e.Scope + " " + e.ObjectID))
		b.WriteString(": ")
	}
	switch {
	case e.Summary != "" && e.Message != "" && !strings.Contains(e.Message, e.Summary):
		b.WriteString(e.Summary + ": " + e.Message)
	case e.Message != "":
		b.WriteString(e.Message)
	default:
		b.WriteString(e.Summary)
	}
	if e.Code != "" {
		b.WriteString(" (" + e.Code + ")")
	}
	return b.String()
}

// routeHost picks the host name a deployment's route is reached at: the
// "host" output of an active resource of type dns. A workload's own dns
// resource (res_id "modules.<workload>.externals.<name>": Backstage's score
// file asks for one named dns and gives its host to its route) is preferred
// to any other (a shared one, or one another resource depends on); among
// equals, the first the API lists. Resources scheduled for deletion and
// those without a host are passed over.
func routeHost(res []ActiveResource) string {
	var other string
	for _, r := range res {
		host, _ := r.Resource["host"].(string)
		if r.Type != "dns" || r.ScheduledDeletion || host == "" {
			continue
		}
		if strings.HasPrefix(r.ResID, "modules.") {
			return host
		}
		if other == "" {
			other = host
		}
	}
	return other
}

// URL is the address a browser opens for host behind the local
// ingress listening on port: https://<host>:<port>. It is empty when host
// is.
func URL(host string, port int) string {
	if host == "" {
		return ""
	}
	return "https://" + net.JoinHostPort(host, strconv.Itoa(port))
}

// Deployment implements Orchestrator. Of the deployments made at or after
// since, the newest is returned; since is compared to the second, the
// coarsest precision of the API's timestamps, so a deployment made in the
// same second as since is not missed. A failed deployment comes with its
// errors and a successful one with its host, each one more read.
func (g *Registrar) Deployment(ctx context.Context, app string, since time.Time) (Deployment, bool, error) {
	list, err := g.c.Deployments(ctx, app, EnvID)
	if err != nil {
		return Deployment{}, false, g.deployErr(ctx, app, "list the deployments", err)
	}
	since = since.Truncate(time.Second)
	var newest *Deploy
	for i, d := range list {
		if !d.CreatedAt.Before(since) && (newest == nil || d.CreatedAt.After(newest.CreatedAt)) {
			newest = &list[i]
		}
	}
	if newest == nil {
		return Deployment{}, false, nil
	}
	d := Deployment{ID: newest.ID, App: app, Status: newest.Status, Comment: newest.Comment,
		CreatedAt: newest.CreatedAt, StatusChangedAt: newest.StatusChangedAt}
	switch d.Status {
	case DeployFailed:
		errs, err := g.c.DeploymentErrors(ctx, app, EnvID, d.ID)
		if err != nil {
			return Deployment{}, false, g.deployErr(ctx, app, "read the errors of deployment "+d.ID, err)
		}
		for _, e := range errs {
			d.Errors = append(d.Errors, e.line())
		}
	case DeploySucceeded:
		res, err := g.c.ActiveResources(ctx, app, EnvID)
		if err != nil {
			return Deployment{}, false, g.deployErr(ctx, app, "list the active resources", err)
		}
		d.Host = routeHost(res)
	}
	return d, true, nil
}

// deployErr wraps an error met while following app's deployments. A 404
// means the app or its environment is gone; one more read tells which.
func (g *Registrar) deployErr(ctx context.Context, app, what string, err error) error {
	if !IsNotFound(err) {
		return fmt.Errorf("%s of app %s in env %s: %w", what, app, EnvID, err)
	}
	_, aerr := g.c.App(ctx, app)
	if aerr != nil && !IsNotFound(aerr) {
		return fmt.Errorf("%s of app %s in env %s: %w (and reading the app: %w)", what, app, EnvID, err, aerr)
	}
	return &MissingAppError{App: app, Env: EnvID, EnvOnly: aerr == nil, Err: err}
}
