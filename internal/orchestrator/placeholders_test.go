package orchestrator

import (
	"reflect"
	"strings"
	"testing"
)

func TestSplitPath(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"context.app.id", []string{"context", "app", "id"}},
		{"resources['postgres.5min#db'].outputs.host", []string{"resources", "postgres.5min#db", "outputs", "host"}},
		{`resources["dns"].outputs.host`, []string{"resources", "dns", "outputs", "host"}},
		{"externals.db.port", []string{"externals", "db", "port"}},
	} {
		got, err := splitPath(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("splitPath(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if _, err := splitPath("resources['x"); err == nil {
		t.Error("an unclosed bracket was accepted")
	}
}

func TestExpand(t *testing.T) {
	tree := map[string]any{"context": map[string]any{"app": map[string]any{"id": "shop"}, "env": map[string]any{"id": "dev"}},
		"db": map[string]any{"port": 5432.0, "password": "pw"}}
	look := func(p []string) (any, bool, bool, error) {
		v, ok := walk(tree, p)
		return v, len(p) > 1 && p[1] == "password", ok, nil
	}
	for _, tc := range []struct {
		in         string
		want       any
		wantSecret bool
		err        string
	}{
		{"plain", "plain", false, ""},
		{"${context.app.id}-${context.env.id}", "shop-dev", false, ""},
		{"${db.port}", 5432.0, false, ""},
		{"port ${db.port}", "port 5432", false, ""},
		{"postgres://u:${db.password}@h", "postgres://u:pw@h", true, ""},
		{"${db.user}", nil, false, "${db.user} names nothing"},
		{"{{ .init.name }}", "{{ .init.name }}", false, ""},
	} {
		got, sec, err := expand(tc.in, look)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("expand(%q) error = %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) || sec != tc.wantSecret {
			t.Errorf("expand(%q) = %#v, secret %v, %v; want %#v, secret %v", tc.in, got, sec, err, tc.want, tc.wantSecret)
		}
	}
}
