package orchestrator

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// courseDir holds the course's own files (see shared/course/README.md).
const courseDir = "../../../shared/course"

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("fixture %s: %v", path, err)
	}
}

// The resource packs' template definitions, rendered with the inputs their
// own tests give `humctl resources test-definition`.
func TestTemplateDriverOnResourcePackInputs(t *testing.T) {
	for _, pack := range []struct {
		dir, kind, port string
		envKeys         []string
	}{
		{"postgres/basic", "postgres", "5432", []string{"POSTGRES_USER", "POSTGRES_DB"}},
		{"mysql/basic", "mysql", "3306", []string{"MYSQL_USER", "MYSQL_DATABASE"}},
	} {
		dir := filepath.Join(courseDir, "resource-packs-in-cluster/humanitec-resource-defs", pack.dir)
		var values map[string]any
		readYAML(t, filepath.Join(dir, "definition-values.yaml"), &values)
		inputs, _ := filepath.Glob(filepath.Join(dir, "tests", "*-inputs.yaml"))
		if len(inputs) == 0 {
			t.Fatalf("no test inputs in %s", dir)
		}
		for _, in := range inputs {
			t.Run(pack.kind+"/"+filepath.Base(in), func(t *testing.T) {
				var ti struct {
					Placeholders map[string]string `json:"placeholders"`
				}
				readYAML(t, in, &ti)
				resID := ti.Placeholders["context.res.id"]
				look := func(p []string) (any, bool, bool, error) {
					v, ok := ti.Placeholders[strings.Join(p, ".")]
					return v, false, ok, nil
				}
				vals, _, err := expandAll(values, look)
				if err != nil {
					t.Fatal(err)
				}
				r, err := renderTemplate(TemplateInput{ID: resID, Type: pack.kind, Class: "default", Values: vals.(map[string]any)})
				if err != nil {
					t.Fatal(err)
				}
				name, _ := r.Outputs["host"].(string)
				// StatefulSet names stay under 52 characters; the name
				// says which workload and resource it is for.
				parts := strings.Split(resID, ".")
				if !strings.HasPrefix(name, pack.kind+"-"+parts[1][:min(len(parts[1]), 19)]) || len(name) > 52 {
					t.Errorf("host = %q for %s", name, resID)
				}
				if got := toString(r.Outputs["port"]); got != pack.port {
					t.Errorf("port = %v, want %s", r.Outputs["port"], pack.port)
				}
				if r.Secrets["username"] == "" || len(toString(r.Secrets["password"])) != 16 {
					t.Errorf("secrets = %v, want a username and a 16-character password", r.Secrets)
				}
				kinds := map[string]string{}
				for _, m := range r.Manifests {
					if m.Location != locNamespace {
						t.Errorf("manifest %s goes to %s, want namespace", m.Name, m.Location)
					}
					kinds[toString(m.Data["kind"])] = toString(field(m.Data, "metadata", "name"))
				}
				for _, k := range []string{"StatefulSet", "Service", "Secret"} {
					if kinds[k] != name {
						t.Errorf("%s is named %q, want %q (manifests %v)", k, kinds[k], name, kinds)
					}
				}
				// The cookie brings the same credentials back next time.
				again, err := renderTemplate(TemplateInput{ID: resID, Type: pack.kind, Class: "default", Values: vals.(map[string]any), Cookie: r.Cookie})
				if err != nil {
					t.Fatal(err)
				}
				if again.Secrets["password"] != r.Secrets["password"] || again.Outputs["host"] != r.Outputs["host"] {
					t.Errorf("with the cookie: %v %v, want %v %v", again.Outputs, again.Secrets, r.Outputs, r.Secrets)
				}
			})
		}
	}
}

func TestTemplateForms(t *testing.T) {
	for _, tc := range []struct {
		name            string
		values, secrets map[string]any
		wantOut, wantSe map[string]any
		err             string
	}{
		{"values.templates", map[string]any{"templates": map[string]any{"outputs": "host: {{ .resource.host }}", "secrets": "password: pw"}}, nil,
			map[string]any{"host": "h"}, map[string]any{"password": "pw"}, ""},
		{"older secrets.templates", map[string]any{"templates": map[string]any{"outputs": "port: 1"}},
			map[string]any{"templates": map[string]any{"outputs": "password: {{ .driver.secrets.pw }}"}, "pw": "x"},
			map[string]any{"port": 1.0}, map[string]any{"password": "x"}, ""},
		{"bad template", map[string]any{"templates": map[string]any{"outputs": "{{ .nope"}}, nil, nil, nil, "does not parse"},
		{"bad location", map[string]any{"templates": map[string]any{"manifests": "x.yaml:\n  location: moon\n  data: {a: 1}"}}, nil, nil, nil, "location"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := renderTemplate(TemplateInput{ID: "modules.w.externals.r", Values: tc.values, Secrets: tc.secrets, Resource: map[string]any{"host": "h"}})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if toString(r.Outputs) != toString(tc.wantOut) || toString(r.Secrets) != toString(tc.wantSe) {
				t.Errorf("outputs %v secrets %v, want %v %v", r.Outputs, r.Secrets, tc.wantOut, tc.wantSe)
			}
		})
	}
}
