package charts

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"helm.sh/helm/v4/pkg/action"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	releasev1 "helm.sh/helm/v4/pkg/release/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/pocketidp/pocketidp/internal/report"
)

// A fixed node port can be refused as "already allocated" with no Service
// holding it: found by the real-cluster e2e, where `up` killed with SIGKILL
// during the charts and run again had Traefik's Service refused 30080 right
// after the recovery uninstalled the interrupted release. A port whose
// release failed is counted as leaked by kube-apiserver's repair loop, which
// runs every three minutes and frees a leak on its third sighting
// (pkg/registry/core/service/portallocator/controller in Kubernetes 1.37):
// up to nine minutes. An install refused that way waits for the port, saying
// so, instead of failing: users expect `up` again to converge. When a
// Service does hold the port, the wait says which, so the user can free it
// (or Ctrl-C) at once.
const (
	// defaultPortWait covers the repair loop's three runs.
	defaultPortWait = 10 * time.Minute
	portRetry       = 5 * time.Second
)

// portTaken matches the API server's field error; Helm hands it on as text
// inside its own ("server-side apply failed for object …: Service … is
// invalid: spec.ports[0].nodePort: Invalid value: 30080: provided port is
// already allocated").
var portTaken = regexp.MustCompile(`nodePort: Invalid value: (\d+): provided port is already allocated`)

// takenNodePort returns the node port err says is already allocated, or 0.
func takenNodePort(err error) int {
	if err == nil {
		return 0
	}
	m := portTaken.FindStringSubmatch(err.Error())
	if m == nil {
		return 0
	}
	p, _ := strconv.Atoi(m[1])
	return p
}

// PortTakenError is an install refused a node port for longer than the
// wait: a Service holds it (Holder), or the API server never freed it.
type PortTakenError struct {
	Release string
	Port    int
	Holder  string // namespace/name of the Service holding the port; empty when none does
	Waited  time.Duration
	Err     error
}

func (e *PortTakenError) Error() string {
	if e.Holder != "" {
		return fmt.Sprintf("install release %s: node port %d is held by Service %s (waited %s); delete that Service or free the port, then run again: %v",
			e.Release, e.Port, e.Holder, e.Waited.Round(time.Second), e.Err)
	}
	return fmt.Sprintf("install release %s: the API server still counts node port %d as allocated after %s although no Service holds it; run again in a few minutes: %v",
		e.Release, e.Port, e.Waited.Round(time.Second), e.Err)
}

func (e *PortTakenError) Unwrap() error { return e.Err }

// runInstall runs Helm's install, and again while a node port it needs is
// refused as taken (see above), removing each refused attempt's release
// first so the next starts clean.
func (i *Installer) runInstall(ctx context.Context, cfg *action.Configuration, rel Release, ch *chart.Chart, vals map[string]any, replace bool) (*releasev1.Release, error) {
	limit := i.opts.PortWait
	if limit == 0 {
		limit = defaultPortWait
	}
	start := time.Now()
	var (
		ri   *releasev1.Release
		last error
		port int
	)
	err := wait.PollUntilContextTimeout(ctx, portRetry, limit, true, func(ctx context.Context) (bool, error) {
		if port != 0 {
			// The refused attempt left a failed release and whatever it made
			// before the Service: gone, so the next is a plain install.
			if err := i.uninstallRelease(cfg, rel); err != nil {
				return false, err
			}
		}
		in := action.NewInstall(cfg)
		in.ReleaseName = rel.Name
		in.Namespace = rel.Namespace
		in.WaitStrategy = i.opts.Wait
		in.Timeout = i.timeout(rel)
		in.Replace = replace // reuse the name of a release uninstalled with its history kept
		res, err := in.RunWithContext(ctx, ch, vals)
		if port = takenNodePort(err); port == 0 || ctx.Err() != nil {
			if err != nil {
				return false, err
			}
			r, ok := res.(*releasev1.Release)
			if !ok {
				return false, fmt.Errorf("unexpected release type %T", res)
			}
			ri = r
			return true, nil
		}
		last = err
		holder, herr := i.nodePortHolder(ctx, port)
		if herr != nil {
			holder = "(unknown: " + herr.Error() + ")"
		}
		msg := fmt.Sprintf("node port %d is allocated although no Service holds it (an interrupted install leaves that; Kubernetes frees it within about 9 minutes); waiting for it (up to %s)", port, limit)
		if holder != "" {
			msg = fmt.Sprintf("node port %d is held by Service %s; waiting for it to be freed (up to %s): delete that Service or free the port, or press Ctrl-C", port, holder, limit)
		}
		report.From(ctx).Logger().Warn("release "+rel.Name+": "+msg, "error", err)
		return false, nil
	})
	switch {
	case err == nil:
		return ri, nil
	case last != nil && ctx.Err() == nil && wait.Interrupted(err):
		holder, _ := i.nodePortHolder(ctx, takenNodePort(last))
		return nil, &PortTakenError{Release: rel.Name, Port: takenNodePort(last), Holder: holder, Waited: time.Since(start), Err: last}
	default:
		return nil, err
	}
}

// nodePortHolder names the Service that holds port, or "" when none does.
func (i *Installer) nodePortHolder(ctx context.Context, port int) (string, error) {
	svcs, err := i.kube.CoreV1().Services(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", fmt.Errorf("list Services: %w", err)
	}
	for _, s := range svcs.Items {
		for _, p := range s.Spec.Ports {
			if int(p.NodePort) == port {
				return s.Namespace + "/" + s.Name, nil
			}
		}
	}
	return "", nil
}
