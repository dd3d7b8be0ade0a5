package orchestrator

import "net/http"

func opCurrentUser(rq *request) (int, any) {
	return http.StatusOK, map[string]any{
		"id": UserID, "name": UserName, "type": "service", "created_at": rq.st.Meta.CreatedAt,
		"properties": map[string]any{}, "roles": map[string]string{"/orgs/" + rq.s.cfg.Org: "administrator"},
	}
}

func (rq *request) orgJSON() map[string]any {
	return map[string]any{
		"id": rq.s.cfg.Org, "name": rq.s.cfg.Org, "created_at": rq.st.Meta.CreatedAt, "created_by": UserID,
		"trial_expires_at": nil, "logo": map[string]any{},
	}
}

func opListOrgs(rq *request) (int, any) { return http.StatusOK, []any{rq.orgJSON()} }

func opGetOrg(rq *request) (int, any) { return http.StatusOK, rq.orgJSON() }
