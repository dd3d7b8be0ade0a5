package orchestrator

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
)

func classKey(typ, id string) string { return typ + "/" + id }

func (c *Class) json() map[string]any {
	return map[string]any{"id": c.ID, "resource_type": c.Type, "description": c.Description,
		"created_by": c.CreatedBy, "created_at": c.CreatedAt}
}

func opListClasses(rq *request) (int, any) {
	out := []map[string]any{}
	for _, k := range slices.Sorted(maps.Keys(rq.st.Classes)) {
		out = append(out, rq.st.Classes[k].json())
	}
	return http.StatusOK, out
}

func opCreateClass(rq *request) (int, any) {
	var in struct {
		ID          string `json:"id"`
		Description string `json:"description"`
	}
	if err := rq.decode(&in); err != nil {
		return badRequest(err.Error())
	}
	typ := rq.param("typeId")
	if in.ID == "" || in.ID == defaultClass {
		return badRequest(fmt.Sprintf("Resource class id %q is not valid: name a class other than %q.", in.ID, defaultClass))
	}
	k := classKey(typ, in.ID)
	if rq.st.Classes[k] != nil {
		return conflict(fmt.Sprintf("Resource class %s already exists for type %s.", in.ID, typ))
	}
	c := &Class{ID: in.ID, Type: typ, Description: in.Description, CreatedAt: rq.now(), CreatedBy: UserID}
	rq.st.Classes[k] = c
	return http.StatusOK, c.json()
}

func opGetClass(rq *request) (int, any) {
	c := rq.st.Classes[classKey(rq.param("typeId"), rq.param("classId"))]
	if c == nil {
		return notFound(fmt.Sprintf("Resource class %s of type %s", rq.param("classId"), rq.param("typeId")))
	}
	return http.StatusOK, c.json()
}

func opDeleteClass(rq *request) (int, any) {
	k := classKey(rq.param("typeId"), rq.param("classId"))
	if rq.st.Classes[k] == nil {
		return notFound(fmt.Sprintf("Resource class %s of type %s", rq.param("classId"), rq.param("typeId")))
	}
	delete(rq.st.Classes, k)
	return http.StatusNoContent, nil
}
