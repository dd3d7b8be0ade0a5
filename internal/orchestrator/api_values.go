package orchestrator

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
)

// secretValueKey is where a secret shared value is kept in state.Secrets.
func secretValueKey(app, key string) string { return "values/" + app + "/" + key }

func (v *Value) json(org, app string) map[string]any {
	out := map[string]any{
		"key": v.Key, "value": v.Value, "is_secret": v.IsSecret, "description": v.Description,
		"created_at": v.CreatedAt, "updated_at": v.UpdatedAt, "source": "app",
		"secret_key": nil, "secret_version": nil, "secret_store_id": nil,
	}
	if v.IsSecret {
		// Secrets are never given back, only where they are kept.
		out["value"] = ""
		out["secret_key"] = fmt.Sprintf("orgs/%s/apps/%s/secret_values/%s", org, app, v.Key)
		out["secret_version"] = fmt.Sprint(v.Version)
		out["secret_store_id"] = "pocketidp"
	}
	return out
}

func opListValues(rq *request) (int, any) {
	a, st, out := rq.app()
	if a == nil {
		return st, out
	}
	list := []map[string]any{}
	for _, k := range slices.Sorted(maps.Keys(a.Values)) {
		list = append(list, a.Values[k].json(rq.s.cfg.Org, a.ID))
	}
	return http.StatusOK, list
}

type valueIn struct {
	Key         string  `json:"key"`
	Description *string `json:"description"`
	Value       *string `json:"value"`
	IsSecret    bool    `json:"is_secret"`
}

func opCreateValue(rq *request) (int, any) {
	a, st, out := rq.app()
	if a == nil {
		return st, out
	}
	var in valueIn
	if err := rq.decode(&in); err != nil {
		return badRequest(err.Error())
	}
	if in.Key == "" {
		return badRequest("A shared value needs a key.")
	}
	if a.Values[in.Key] != nil {
		return conflict(fmt.Sprintf("Shared value %s already exists in application %s.", in.Key, a.ID))
	}
	now := rq.now()
	v := &Value{Key: in.Key, IsSecret: in.IsSecret, Version: 1, CreatedAt: now, UpdatedAt: now}
	if in.Description != nil {
		v.Description = *in.Description
	}
	rq.setValue(a, v, in.Value)
	if a.Values == nil {
		a.Values = map[string]*Value{}
	}
	a.Values[in.Key] = v
	return http.StatusCreated, v.json(rq.s.cfg.Org, a.ID)
}

// setValue stores a value's content: a secret's in the secret collection.
func (rq *request) setValue(a *App, v *Value, content *string) {
	if content == nil {
		return
	}
	if v.IsSecret {
		rq.st.Secrets[secretValueKey(a.ID, v.Key)] = *content
		return
	}
	v.Value = *content
}

func opReplaceValue(rq *request) (int, any) { return updateValue(rq, true) }
func opPatchValue(rq *request) (int, any)   { return updateValue(rq, false) }

func updateValue(rq *request, replace bool) (int, any) {
	a, st, out := rq.app()
	if a == nil {
		return st, out
	}
	v := a.Values[rq.param("key")]
	if v == nil {
		return notFound(fmt.Sprintf("Shared value %s of application %s", rq.param("key"), a.ID))
	}
	var in valueIn
	if err := rq.decode(&in); err != nil {
		return badRequest(err.Error())
	}
	if replace && (in.Value == nil || in.Description == nil) {
		return badRequest("PUT replaces a shared value: send both value and description.")
	}
	if !replace && in.Value == nil && in.Description == nil {
		return badRequest("PATCH changes a shared value: send value, description or both.")
	}
	if in.Description != nil {
		v.Description = *in.Description
	}
	if in.Value != nil {
		rq.setValue(a, v, in.Value)
		v.Version++
	}
	v.UpdatedAt = rq.now()
	return http.StatusOK, v.json(rq.s.cfg.Org, a.ID)
}

func opDeleteValue(rq *request) (int, any) {
	a, st, out := rq.app()
	if a == nil {
		return st, out
	}
	k := rq.param("key")
	if a.Values[k] == nil {
		return notFound(fmt.Sprintf("Shared value %s of application %s", k, a.ID))
	}
	delete(a.Values, k)
	delete(rq.st.Secrets, secretValueKey(a.ID, k))
	return http.StatusNoContent, nil
}

// sharedValues returns an app's shared values with the secrets' contents,
// for a deployment.
func (s *state) sharedValues(a *App) map[string]string {
	out := map[string]string{}
	for k, v := range a.Values {
		if v.IsSecret {
			out[k] = s.Secrets[secretValueKey(a.ID, k)]
		} else {
			out[k] = v.Value
		}
	}
	return out
}
