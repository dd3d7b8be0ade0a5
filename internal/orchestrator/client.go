package orchestrator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/pocketidp/pocketidp/internal/secret"
)

// Client does, over HTTP, what the course's CI does with humctl against
// the orchestrator: register an image, deploy a Score file, wait for the
// deployment, read the resources. The e2e and `pocketidp graph` use it.
type Client struct {
	URL   string // API prefix, e.g. https://orchestrator.localhost:8443
	Org   string
	Token secret.Value
	HTTP  *http.Client
}

// deployPoll is how often a deployment is looked at while it runs.
const deployPoll = 2 * time.Second

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(c.URL, "/")+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token.Reveal())
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if resp.StatusCode >= 300 {
		var e errorBody
		_ = json.Unmarshal(b, &e)
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(e.Message))
	}
	if out != nil && len(b) > 0 {
		return json.Unmarshal(b, out)
	}
	return nil
}

func (c *Client) orgPath(parts ...string) string {
	var b strings.Builder
	b.WriteString("/orgs/" + url.PathEscape(c.Org))
	for _, p := range parts {
		b.WriteString("/" + url.PathEscape(p))
	}
	return b.String()
}

// DeployScore registers image (name:tag) as an artefact version, then
// deploys the Score file with it into app/env as a delta, as the course's
// deploy workflows do with `humctl create artefact-version` and `humctl
// score deploy`. It returns the deployment's id.
func (c *Client) DeployScore(ctx context.Context, app, env string, score []byte, image, comment string) (string, error) {
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		if err := c.do(ctx, http.MethodPost, c.orgPath("artefact-versions"), map[string]any{
			"type": "container", "name": image[:i], "version": image[i+1:]}, nil); err != nil {
			return "", err
		}
	}
	delta, err := ScoreDelta(score, env, image)
	if err != nil {
		return "", err
	}
	var d struct {
		ID string `json:"id"`
	}
	if err := c.do(ctx, http.MethodPost, c.orgPath("apps", app, "deltas"), delta, &d); err != nil {
		return "", err
	}
	var dep struct {
		ID string `json:"id"`
	}
	if err := c.do(ctx, http.MethodPost, c.orgPath("apps", app, "envs", env, "deploys"), map[string]any{"delta_id": d.ID, "comment": comment}, &dep); err != nil {
		return "", err
	}
	return dep.ID, nil
}

// WaitDeploy waits for a deployment to finish; a failed one is an error
// listing its errors.
func (c *Client) WaitDeploy(ctx context.Context, app, env, id string, timeout time.Duration) error {
	var status string
	err := wait.PollUntilContextTimeout(ctx, deployPoll, timeout, true, func(ctx context.Context) (bool, error) {
		var d struct {
			Status string `json:"status"`
		}
		if err := c.do(ctx, http.MethodGet, c.orgPath("apps", app, "envs", env, "deploys", id), nil, &d); err != nil {
			return false, err
		}
		status = d.Status
		return status != DeployInProgress, nil
	})
	if err != nil {
		return fmt.Errorf("deployment %s of %s/%s is %q after %s: %w", id, app, env, status, timeout, err)
	}
	if status == DeploySucceeded {
		return nil
	}
	var errs []DeployError
	if err := c.do(ctx, http.MethodGet, c.orgPath("apps", app, "envs", env, "deploys", id, "errors"), nil, &errs); err != nil {
		return err
	}
	var lines []string
	for _, e := range errs {
		lines = append(lines, e.ObjectID+": "+e.Message)
	}
	return fmt.Errorf("deployment %s of %s/%s %s:\n%s", id, app, env, status, strings.Join(lines, "\n"))
}

// Resources lists an environment's active resources.
func (c *Client) Resources(ctx context.Context, app, env string) ([]ActiveResource, error) {
	var raw []struct {
		ActiveResource
		Resource map[string]any `json:"resource"`
	}
	if err := c.do(ctx, http.MethodGet, c.orgPath("apps", app, "envs", env, "resources"), nil, &raw); err != nil {
		return nil, err
	}
	out := make([]ActiveResource, len(raw))
	for i, r := range raw {
		out[i] = r.ActiveResource
		out[i].Outputs = r.Resource
	}
	return out, nil
}
