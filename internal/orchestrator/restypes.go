package orchestrator

import (
	"maps"
	"net/http"
	"slices"
)

// defaultClass is the class of a resource and of a criterion that name
// none.
const defaultClass = "default"

// ResourceType is an entry of the resource type catalogue.
type ResourceType struct {
	Type     string
	Name     string
	Category string
	// Use is "direct" (a workload asks for it), "implicit" (every
	// deployment has one) or "indirect" (another resource brings it).
	Use string
	// Values and Secrets name the outputs a resource of this type gives.
	Values, Secrets []string
}

// catalogue is the resource types in play in the course: the ones Score
// files ask for and the ones a deployment brings along.
var catalogue = []ResourceType{
	{Type: "environment", Name: "Environment", Category: "score", Use: "direct"},
	{Type: "service", Name: "Service", Category: "score", Use: "direct", Values: []string{"name", "port"}},
	{Type: "dns", Name: "DNS", Category: "dns", Use: "direct", Values: []string{"host"}},
	{Type: "route", Name: "Route", Category: "ingress", Use: "direct", Values: []string{"host", "path", "port"}},
	{Type: "volume", Name: "Persistent Volume", Category: "datastore", Use: "direct", Values: []string{"source"}},
	{Type: "tls-cert", Name: "TLS certificate", Category: "security", Use: "direct", Values: []string{"tls_secret_name"}},
	{Type: "postgres", Name: "Postgres", Category: "datastore", Use: "direct", Values: []string{"host", "port", "name"}, Secrets: []string{"username", "password"}},
	{Type: "mysql", Name: "MySQL", Category: "datastore", Use: "direct", Values: []string{"host", "port", "name"}, Secrets: []string{"username", "password"}},
	{Type: "ingress", Name: "Ingress", Category: "ingress", Use: "indirect", Values: []string{"id"}},
	{Type: "k8s-namespace", Name: "Kubernetes namespace", Category: "kubernetes", Use: "implicit", Values: []string{"namespace"}},
	{Type: "workload", Name: "Workload", Category: "kubernetes", Use: "implicit", Values: []string{"update"}},
	{Type: "base-env", Name: "Base environment", Category: "kubernetes", Use: "implicit"},
}

func outputSchema(props []string) map[string]any {
	p := map[string]any{}
	for _, k := range props {
		p[k] = map[string]any{"type": "string"}
	}
	return map[string]any{"type": "object", "properties": p}
}

func (t ResourceType) json() map[string]any {
	out := map[string]any{"values": outputSchema(t.Values)}
	if len(t.Secrets) > 0 {
		out["secrets"] = outputSchema(t.Secrets)
	}
	return map[string]any{"type": t.Type, "name": t.Name, "category": t.Category, "use": t.Use,
		"inputs_schema": map[string]any{}, "outputs_schema": out}
}

// resourceType returns the catalogue's entry for typ, or a plain one for a
// type the catalogue does not know (a definition may bring any type).
func resourceType(typ string) ResourceType {
	for _, t := range catalogue {
		if t.Type == typ {
			return t
		}
	}
	return ResourceType{Type: typ, Name: typ, Category: "custom", Use: "direct"}
}

func opListResourceTypes(rq *request) (int, any) {
	seen := map[string]bool{}
	out := []map[string]any{}
	for _, t := range catalogue {
		seen[t.Type] = true
		out = append(out, t.json())
	}
	// Types that only definitions name are listed too.
	for _, id := range slices.Sorted(maps.Keys(rq.st.Defs)) {
		if d := rq.st.Defs[id]; !d.Deleted && !seen[d.Type] {
			seen[d.Type] = true
			out = append(out, resourceType(d.Type).json())
		}
	}
	return http.StatusOK, out
}
