package orchestrator

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
)

// opPatchDef changes what the body names: a missing or null property stays;
// in driver_inputs and provision, a key with a value is set and a key with
// null is removed (the API's merge rules).
func opPatchDef(rq *request) (int, any) {
	d, st, out := rq.def()
	if d == nil {
		return st, out
	}
	var in struct {
		Name          *string `json:"name"`
		DriverAccount *string `json:"driver_account"`
		DriverInputs  *struct {
			Values     map[string]any `json:"values"`
			Secrets    map[string]any `json:"secrets"`
			SecretRefs map[string]any `json:"secret_refs"`
		} `json:"driver_inputs"`
		Provision map[string]*Provision `json:"provision"`
	}
	if err := rq.decode(&in); err != nil {
		return badRequest(err.Error())
	}
	if in.Name != nil {
		d.Name = *in.Name
	}
	if in.DriverAccount != nil {
		d.DriverAccount = *in.DriverAccount
	}
	if in.DriverInputs != nil {
		d.Values = mergeMap(d.Values, in.DriverInputs.Values)
		sec := rq.st.defSecrets(d)
		sec = mergeMap(sec, in.DriverInputs.Secrets)
		sec = mergeMap(sec, in.DriverInputs.SecretRefs)
		delete(rq.st.Secrets, defSecretsKey(d.ID))
		d.SecretKeys = nil
		if len(sec) > 0 {
			b, _ := json.Marshal(sec)
			rq.st.Secrets[defSecretsKey(d.ID)] = string(b)
			d.SecretKeys = slices.Sorted(maps.Keys(sec))
		}
	}
	for k, p := range in.Provision {
		if d.Provision == nil {
			d.Provision = map[string]Provision{}
		}
		if p == nil {
			delete(d.Provision, k)
		} else {
			d.Provision[k] = *p
		}
	}
	d.UpdatedAt = rq.now()
	d.Version++
	return http.StatusOK, rq.defJSON(d)
}

// mergeMap applies patch to base: null removes a key, anything else sets it.
func mergeMap(base, patch map[string]any) map[string]any {
	if patch == nil {
		return base
	}
	out := maps.Clone(base)
	if out == nil {
		out = map[string]any{}
	}
	for k, v := range patch {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}
