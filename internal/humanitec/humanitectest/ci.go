package humanitectest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
)

// CIDeploy is what the Backstage workflow's `humctl deploy` does, for tests
// that play the CI job: a deployment of $HUMANITEC_APP_ID's 5min-local in
// $HUMANITEC_ORG_ID, authorised with the HUMANITEC_TOKEN secret, all as the
// job got them from Gitea (so a wrong variable or secret fails here).
func CIDeploy(apiURL string, vars, secrets map[string]string) error {
	org, app, token := vars["HUMANITEC_ORG_ID"], vars["HUMANITEC_APP_ID"], secrets["HUMANITEC_TOKEN"]
	if org == "" || app == "" || token == "" {
		return fmt.Errorf("the job lacks HUMANITEC_ORG_ID, HUMANITEC_APP_ID or the HUMANITEC_TOKEN secret (org %q, app %q)", org, app)
	}
	body, err := json.Marshal(map[string]any{"delta_id": "0123456789abcdef", "comment": "Deploy Backstage from CI"})
	if err != nil {
		return err
	}
	req, err := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/orgs/%s/apps/%s/envs/5min-local/deploys", apiURL, org, app), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("deploy as the CI: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("deploy as the CI: POST %s: %s", req.URL.Path, resp.Status)
	}
	return nil
}
