package orchestrator

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
)

// defSecretsKey is where a definition's driver secrets are kept in
// state.Secrets, as JSON.
func defSecretsKey(id string) string { return "defs/" + id }

type driverInputsIn struct {
	Values     map[string]any `json:"values"`
	Secrets    map[string]any `json:"secrets"`
	SecretRefs map[string]any `json:"secret_refs"`
}

type defIn struct {
	ID           string               `json:"id"`
	Name         string               `json:"name"`
	Type         string               `json:"type"`
	DriverType   string               `json:"driver_type"`
	DriverAcct   string               `json:"driver_account"`
	DriverInputs *driverInputsIn      `json:"driver_inputs"`
	Provision    map[string]Provision `json:"provision"`
	Criteria     []Criterion          `json:"criteria"`
}

func (rq *request) defJSON(d *Definition) map[string]any {
	inputs := map[string]any{}
	if d.Values != nil {
		inputs["values"] = d.Values
	}
	if len(d.SecretKeys) > 0 {
		// Secrets are kept and only references to them come back.
		var sec map[string]any
		_ = json.Unmarshal([]byte(rq.st.Secrets[defSecretsKey(d.ID)]), &sec)
		inputs["secret_refs"] = secretRefs(sec, fmt.Sprintf("orgs/%s/resources/defs/%s/driver_secrets", rq.s.cfg.Org, d.ID))
	}
	out := map[string]any{
		"org_id": rq.s.cfg.Org, "id": d.ID, "name": d.Name, "type": d.Type, "driver_type": d.DriverType,
		"created_at": d.CreatedAt, "created_by": d.CreatedBy, "updated_at": d.UpdatedAt, "updated_by": d.CreatedBy,
		"is_default": false, "is_deleted": d.Deleted, "active_version_id": d.versionID(),
		"in_place_driver_change": false, "criteria": append([]*Criterion{}, d.Criteria...), "driver_inputs": inputs,
	}
	if d.DriverAccount != "" {
		out["driver_account"] = d.DriverAccount
	}
	if d.Provision != nil {
		out["provision"] = d.Provision
	}
	return out
}

func secretRefs(v map[string]any, path string) map[string]any {
	out := map[string]any{}
	for k, x := range v {
		if m, ok := x.(map[string]any); ok {
			out[k] = secretRefs(m, path+"/"+k)
			continue
		}
		out[k] = map[string]any{"store": "pocketidp", "ref": path + "/" + k, "version": "1"}
	}
	return out
}

// setInputs stores a definition's driver inputs: values in the definition,
// secrets in the secret collection.
func (rq *request) setInputs(d *Definition, in *driverInputsIn) error {
	d.Values, d.SecretKeys = nil, nil
	delete(rq.st.Secrets, defSecretsKey(d.ID))
	if in == nil {
		return nil
	}
	d.Values = in.Values
	if len(in.Secrets) > 0 && len(in.SecretRefs) > 0 {
		return fmt.Errorf("driver_inputs has both secrets and secret_refs: send one of them")
	}
	sec := in.Secrets
	if len(sec) == 0 {
		sec = in.SecretRefs
	}
	if len(sec) == 0 {
		return nil
	}
	b, err := json.Marshal(sec)
	if err != nil {
		return fmt.Errorf("driver_inputs.secrets: %v", err)
	}
	rq.st.Secrets[defSecretsKey(d.ID)] = string(b)
	d.SecretKeys = slices.Sorted(maps.Keys(sec))
	return nil
}

// defSecrets returns a definition's driver secrets, for a deployment.
func (s *state) defSecrets(d *Definition) map[string]any {
	var sec map[string]any
	_ = json.Unmarshal([]byte(s.Secrets[defSecretsKey(d.ID)]), &sec)
	return sec
}

// criteriaClash reports the definition of the same type that already holds
// one of crit: matching criteria are unique per resource type.
func (s *state) criteriaClash(typ, self string, crit []*Criterion) string {
	for _, id := range slices.Sorted(maps.Keys(s.Defs)) {
		d := s.Defs[id]
		if d.ID == self || d.Type != typ || d.Deleted {
			continue
		}
		for _, c := range d.Criteria {
			for _, n := range crit {
				if c.same(n) {
					return fmt.Sprintf("Matching criteria %s for resource type %s are already used by resource definition %s: change or delete those first.", describe(n), typ, d.ID)
				}
			}
		}
	}
	return ""
}

func describe(c *Criterion) string {
	var parts []string
	for _, kv := range [][2]string{{"app_id", c.AppID}, {"env_id", c.EnvID}, {"env_type", c.EnvType}, {"res_id", c.ResID}, {"class", c.Class}} {
		if kv[1] != "" {
			parts = append(parts, kv[0]+"="+kv[1])
		}
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func newCriteria(in []Criterion) []*Criterion {
	out := make([]*Criterion, 0, len(in))
	for _, c := range in {
		if c.Class == "" {
			c.Class = defaultClass
		}
		c.ID = newID()
		out = append(out, &c)
	}
	return out
}

// def is the request's {defId}; deleted ones only with ?deleted=true.
func (rq *request) def() (*Definition, int, any) {
	d := rq.st.Defs[rq.param("defId")]
	if d == nil || d.Deleted && rq.query("deleted") != "true" {
		st, out := notFound("Resource definition " + rq.param("defId"))
		return nil, st, out
	}
	return d, 0, nil
}

func opListDefs(rq *request) (int, any) {
	out := []map[string]any{}
	typ := rq.query("type")
	for _, id := range slices.Sorted(maps.Keys(rq.st.Defs)) {
		d := rq.st.Defs[id]
		if d.Deleted || typ != "" && d.Type != typ {
			continue
		}
		out = append(out, rq.defJSON(d))
	}
	return http.StatusOK, out
}

func opGetDef(rq *request) (int, any) {
	d, st, out := rq.def()
	if d == nil {
		return st, out
	}
	return http.StatusOK, rq.defJSON(d)
}

func opCreateDef(rq *request) (int, any) {
	var in defIn
	if err := rq.decode(&in); err != nil {
		return badRequest(err.Error())
	}
	if in.ID == "" || in.Type == "" || in.DriverType == "" {
		return badRequest("A resource definition needs id, type and driver_type.")
	}
	if !defIDPattern.MatchString(in.ID) {
		return badRequest(fmt.Sprintf("Resource definition id %q is not valid: use lowercase letters, digits and dashes, at least 3.", in.ID))
	}
	if old := rq.st.Defs[in.ID]; old != nil && !old.Deleted {
		return conflict(fmt.Sprintf("Resource definition %s already exists.", in.ID))
	}
	crit := newCriteria(in.Criteria)
	if msg := rq.st.criteriaClash(in.Type, in.ID, crit); msg != "" {
		return conflict(msg)
	}
	now := rq.now()
	d := &Definition{ID: in.ID, Name: in.Name, Type: in.Type, DriverType: in.DriverType, DriverAccount: in.DriverAcct,
		Provision: in.Provision, Criteria: crit, CreatedAt: now, CreatedBy: UserID, UpdatedAt: now, Version: 1}
	if err := rq.setInputs(d, in.DriverInputs); err != nil {
		return badRequest(err.Error())
	}
	rq.st.Defs[in.ID] = d
	return http.StatusOK, rq.defJSON(d)
}

func opUpdateDef(rq *request) (int, any) {
	d, st, out := rq.def()
	if d == nil {
		return st, out
	}
	var in defIn
	if err := rq.decode(&in); err != nil {
		return badRequest(err.Error())
	}
	// PUT replaces: a missing driver_inputs, driver_account or provision
	// unsets it; a missing driver_type keeps the old one.
	d.Name, d.DriverAccount, d.Provision = in.Name, in.DriverAcct, in.Provision
	if in.DriverType != "" {
		d.DriverType = in.DriverType
	}
	if err := rq.setInputs(d, in.DriverInputs); err != nil {
		return badRequest(err.Error())
	}
	d.UpdatedAt = rq.now()
	d.Version++
	return http.StatusOK, rq.defJSON(d)
}

// users lists the active resources provisioned from a definition.
func (s *state) users(d *Definition) []map[string]string {
	out := []map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(s.Resources)) {
		r := s.Resources[k]
		if r.DefID == d.ID {
			out = append(out, map[string]string{"app_id": r.AppID, "env_id": r.EnvID, "res_id": r.ResID, "from_def": d.ID, "to_def": ""})
		}
	}
	return out
}

func opDeleteDef(rq *request) (int, any) {
	d, st, out := rq.def()
	if d == nil {
		return st, out
	}
	if u := rq.st.users(d); len(u) > 0 && rq.query("force") != "true" {
		return http.StatusConflict, u
	}
	// Marked deleted, not forgotten: GET ?deleted=true still shows it, as
	// the Terraform provider expects.
	d.Deleted, d.Criteria, d.UpdatedAt = true, nil, rq.now()
	return http.StatusNoContent, nil
}

func opPutCriteria(rq *request) (int, any) {
	d, st, out := rq.def()
	if d == nil {
		return st, out
	}
	var in []Criterion
	if err := rq.decode(&in); err != nil {
		return badRequest(err.Error())
	}
	crit := newCriteria(in)
	if msg := rq.st.criteriaClash(d.Type, d.ID, crit); msg != "" {
		return conflict(msg)
	}
	d.Criteria = crit
	return http.StatusOK, append([]*Criterion{}, crit...)
}

func opAddCriteria(rq *request) (int, any) {
	d, st, out := rq.def()
	if d == nil {
		return st, out
	}
	var in Criterion
	if err := rq.decode(&in); err != nil {
		return badRequest(err.Error())
	}
	crit := newCriteria([]Criterion{in})
	for _, c := range d.Criteria {
		if c.same(crit[0]) {
			return conflict(fmt.Sprintf("Matching criteria %s already exist on resource definition %s.", describe(c), d.ID))
		}
	}
	if msg := rq.st.criteriaClash(d.Type, d.ID, crit); msg != "" {
		return conflict(msg)
	}
	d.Criteria = append(d.Criteria, crit[0])
	return http.StatusOK, crit[0]
}

func opDeleteCriteria(rq *request) (int, any) {
	d, st, out := rq.def()
	if d == nil {
		return st, out
	}
	i := slices.IndexFunc(d.Criteria, func(c *Criterion) bool { return c.ID == rq.param("criteriaId") })
	if i < 0 {
		return notFound(fmt.Sprintf("Matching criteria %s of resource definition %s", rq.param("criteriaId"), d.ID))
	}
	if u := rq.st.users(d); len(u) > 0 && rq.query("force") != "true" {
		return http.StatusConflict, u
	}
	d.Criteria = slices.Delete(d.Criteria, i, i+1)
	return http.StatusNoContent, nil
}

func opListDefResources(rq *request) (int, any) {
	d, st, out := rq.def()
	if d == nil {
		return st, out
	}
	list := []map[string]any{}
	for _, k := range slices.Sorted(maps.Keys(rq.st.Resources)) {
		if r := rq.st.Resources[k]; r.DefID == d.ID {
			list = append(list, r.json(rq.s.cfg.Org))
		}
	}
	return http.StatusOK, list
}
