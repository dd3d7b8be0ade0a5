package orchestrator

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"text/template"

	"github.com/Masterminds/sprig/v3"
	"sigs.k8s.io/yaml"
)

// Where a template driver's manifest goes.
const (
	locNamespace  = "namespace"
	locCluster    = "cluster"
	locVolumes    = "volumes"
	locContainers = "containers"
)

// TemplateInput is what a humanitec/template definition is rendered with:
// its driver inputs (placeholders already resolved), the resource and the
// cookie the last deployment kept.
type TemplateInput struct {
	ID, Type, Class, GUResID string
	Values, Secrets          map[string]any
	// Resource are the resource's params, from the workload.
	Resource map[string]any
	Cookie   map[string]any
}

// Manifest is one object a template renders, and where it goes.
type Manifest struct {
	Name     string
	Location string
	Data     map[string]any
}

// Rendered is what a template definition gives.
type Rendered struct {
	Outputs, Secrets, Cookie map[string]any
	Manifests                []Manifest
}

// templates gathers the definition's templates: the values.templates form,
// and the older secrets.templates form, whose outputs are secret outputs.
func templates(values, secrets map[string]any) (map[string]string, error) {
	out := map[string]string{}
	take := func(src map[string]any, rename map[string]string) error {
		t, ok := src["templates"]
		if !ok || t == nil {
			return nil
		}
		m, ok := t.(map[string]any)
		if !ok {
			return fmt.Errorf("templates is a %T, want a map of init, manifests, outputs, secrets, cookie", t)
		}
		for k, v := range m {
			s, ok := v.(string)
			if !ok {
				return fmt.Errorf("templates.%s is a %T, want a string holding a Go template", k, v)
			}
			if r, ok := rename[k]; ok {
				k = r
			}
			if _, dup := out[k]; !dup {
				out[k] = s
			}
		}
		return nil
	}
	if err := take(values, nil); err != nil {
		return nil, fmt.Errorf("driver_inputs.values.%w", err)
	}
	if err := take(secrets, map[string]string{"outputs": "secrets"}); err != nil {
		return nil, fmt.Errorf("driver_inputs.secrets.%w", err)
	}
	return out, nil
}

// renderTemplate runs a template definition: init first, then manifests,
// outputs and secrets with .init, and the cookie last with .outputs too.
func renderTemplate(in TemplateInput) (Rendered, error) {
	tpls, err := templates(in.Values, in.Secrets)
	if err != nil {
		return Rendered{}, err
	}
	data := map[string]any{
		"id": in.ID, "type": in.Type, "class": in.Class, "guresid": in.GUResID,
		"resource": orEmpty(in.Resource), "cookie": in.Cookie,
		"driver": map[string]any{"values": orEmpty(in.Values), "secrets": orEmpty(in.Secrets)},
	}
	if len(in.Cookie) == 0 {
		data["cookie"] = nil // so {{ if .cookie }} is false on the first run
	}
	var r Rendered
	step := func(name string) (map[string]any, error) {
		src, ok := tpls[name]
		if !ok {
			return nil, nil
		}
		return renderYAML(name, src, data)
	}
	if data["init"], err = step("init"); err != nil {
		return r, err
	}
	man, err := step("manifests")
	if err != nil {
		return r, err
	}
	for _, name := range slices.Sorted(maps.Keys(man)) {
		m, ok := man[name].(map[string]any)
		loc, _ := m["location"].(string)
		obj, _ := m["data"].(map[string]any)
		if !ok || obj == nil {
			return r, fmt.Errorf("manifest %s has no data: each manifest needs location and data", name)
		}
		if loc == "" {
			loc = locNamespace
		}
		switch loc {
		case locNamespace, locCluster, locVolumes, locContainers:
		default:
			return r, fmt.Errorf("manifest %s: location %q is not one of namespace, cluster, volumes, containers", name, loc)
		}
		r.Manifests = append(r.Manifests, Manifest{Name: name, Location: loc, Data: obj})
	}
	if r.Outputs, err = step("outputs"); err != nil {
		return r, err
	}
	if r.Secrets, err = step("secrets"); err != nil {
		return r, err
	}
	data["outputs"] = r.Outputs
	if r.Cookie, err = step("cookie"); err != nil {
		return r, err
	}
	return r, nil
}

// renderYAML executes one template and reads its YAML.
func renderYAML(name, src string, data any) (map[string]any, error) {
	t, err := template.New(name).Funcs(sprig.TxtFuncMap()).Option("missingkey=zero").Parse(src)
	if err != nil {
		return nil, fmt.Errorf("template %s does not parse: %v", name, err)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		return nil, fmt.Errorf("template %s: %v", name, err)
	}
	var out map[string]any
	if err := yaml.Unmarshal(buf.Bytes(), &out); err != nil {
		return nil, fmt.Errorf("template %s renders YAML that does not parse (%v):\n%s", name, err, buf.String())
	}
	return out, nil
}
