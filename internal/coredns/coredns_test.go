package coredns

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	goldenfile "github.com/pocketidp/pocketidp/internal/golden"
)

var rules = Rules{
	Target:        "traefik.traefik.svc.cluster.local",
	Hosts:         []string{"git.localhost", "localhost", "127.0.0.1", "::1", "5min-idp-control-plane", "git.localhost", "idp.example.test"},
	LocalhostApps: true,
}

func read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestPatchGolden(t *testing.T) {
	for _, in := range []string{"corefile-kind.txt", "corefile-k3s.txt"} {
		t.Run(in, func(t *testing.T) {
			orig := read(t, in)
			got, err := Patch(orig, rules)
			if err != nil {
				t.Fatal(err)
			}
			goldenfile.Check(t, filepath.Join("testdata", strings.TrimSuffix(in, ".txt")+".patched.golden"), []byte(got))

			again, err := Patch(got, rules)
			if err != nil || again != got {
				t.Errorf("patching twice changed the Corefile (err %v):\n%s", err, again)
			}
			back, err := Unpatch(got)
			if err != nil || back != orig {
				t.Errorf("Unpatch did not restore the original byte for byte (err %v):\n%q\n%q", err, back, orig)
			}
		})
	}
}

func TestPatchReplacesOldBlock(t *testing.T) {
	orig := read(t, "corefile-kind.txt")
	first, err := Patch(orig, Rules{Target: rules.Target, Hosts: []string{"git.localhost"}})
	if err != nil {
		t.Fatal(err)
	}
	second, err := Patch(first, Rules{Target: rules.Target, Hosts: []string{"git.localhost", "app.localhost"}})
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(second, beginMarker); n != 1 {
		t.Errorf("%d blocks after a second patch with other hosts, want 1:\n%s", n, second)
	}
	if !strings.Contains(second, "rewrite stop name exact app.localhost traefik.traefik.svc.cluster.local\n") {
		t.Errorf("new host missing:\n%s", second)
	}
	if back, _ := Unpatch(second); back != orig {
		t.Errorf("Unpatch after two patches did not restore the original")
	}
}

func TestBlockHosts(t *testing.T) {
	b, err := rules.Block("  ")
	if err != nil {
		t.Fatal(err)
	}
	for _, skipped := range []string{" localhost ", "127.0.0.1", "::1", "control-plane"} {
		if strings.Contains(b, skipped) {
			t.Errorf("block rewrites %q, which is no ingress host:\n%s", skipped, b)
		}
	}
	if n := strings.Count(b, "exact git.localhost "); n != 1 {
		t.Errorf("git.localhost appears %d times, want once:\n%s", n, b)
	}
	for _, l := range strings.Split(strings.TrimSuffix(b, "\n"), "\n") {
		if !strings.HasPrefix(l, "  ") {
			t.Errorf("line %q not indented", l)
		}
	}
}

// An alias sends one name, a single label too, to its own Service, under
// the cluster's own domain.
func TestBlockAliases(t *testing.T) {
	r := rules
	r.Aliases = map[string]string{"5min-idp-control-plane": "course-host.traefik.svc.cluster.local"}
	for _, tc := range []struct{ corefile, want string }{
		{read(t, "corefile-kind.txt"), "rewrite stop name exact 5min-idp-control-plane course-host.traefik.svc.cluster.local\n"},
		{strings.ReplaceAll(read(t, "corefile-kind.txt"), "cluster.local", "corp.example"), "rewrite stop name exact 5min-idp-control-plane course-host.traefik.svc.corp.example\n"},
	} {
		got, err := Patch(tc.corefile, r)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(got, tc.want) {
			t.Errorf("patched Corefile lacks %q:\n%s", tc.want, got)
		}
		// The alias comes before the catch-all regex: rewrite stops at
		// the first rule that matches.
		if strings.Index(got, "5min-idp-control-plane") > strings.Index(got, "name regex") {
			t.Errorf("alias after the regex rule:\n%s", got)
		}
	}
}

// The regex sends app hosts to the ingress, and nothing else: not
// localhost itself, not the search-path names a pod tries first.
func TestLocalhostAppsRegex(t *testing.T) {
	re := regexp.MustCompile(LocalhostAppsRegex)
	for name, want := range map[string]bool{
		"git.localhost.":                           true,
		"5min-backstage-abcd-1x2y.localhost.":      true,
		"a.b.localhost.":                           true,
		"localhost.":                               false,
		"mylocalhost.":                             false,
		"git.localhost.default.svc.cluster.local.": false,
		"git.localhost.example.com.":               false,
		"kubernetes.default.svc.cluster.local.":    false,
	} {
		if got := re.MatchString(name); got != want {
			t.Errorf("%s: match = %v, want %v", name, got, want)
		}
	}
}

func TestPatchErrors(t *testing.T) {
	kind := read(t, "corefile-kind.txt")
	patched, _ := Patch(kind, rules)
	tests := []struct {
		name, corefile string
		rules          Rules
		want           string
	}{
		{"no root block", "example.org {\n    whoami\n}\n", rules, "no root server block"},
		{"begin without end", strings.Replace(patched, endMarker, "# gone", 1), rules, "no end marker"},
		{"end without begin", kind + "    " + endMarker + "\n", rules, "without a begin"},
		{"two blocks", strings.Replace(patched, endMarker, "", 1) + beginMarker + "\n" + endMarker + "\n", rules, "two pocketidp:begin"},
		{"bad target", kind, Rules{Target: "not a name"}, "not a DNS name"},
		{"bad alias", kind, Rules{Target: "t.svc.cluster.local", Aliases: map[string]string{"bad name": "a.b"}}, "not a pair of DNS names"},
		{"bad alias target", kind, Rules{Target: "t.svc.cluster.local", Aliases: map[string]string{"host": "one-label"}}, "not a pair of DNS names"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Patch(tt.corefile, tt.rules); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Patch = %v, want %q", err, tt.want)
			}
		})
	}
}

// A cluster with its own domain gets the Service under that domain.
func TestPatchClusterDomain(t *testing.T) {
	orig := strings.Replace(read(t, "corefile-kind.txt"), "kubernetes cluster.local", "kubernetes corp.internal", 1)
	got, err := Patch(orig, rules)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got, "exact git.localhost traefik.traefik.svc.corp.internal\n") || strings.Contains(got, "svc.cluster.local") {
		t.Errorf("target not moved to the cluster's domain:\n%s", got)
	}
}

func TestPatchWithoutTrailingNewline(t *testing.T) {
	orig := ".:53 {\n    forward . /etc/resolv.conf\n}"
	got, err := Patch(orig, rules)
	if err != nil {
		t.Fatal(err)
	}
	if back, _ := Unpatch(got); back != orig {
		t.Errorf("round trip = %q, want %q", back, orig)
	}
	oneLine := ".:53 {"
	if got, err := Patch(oneLine, rules); err != nil || !strings.HasPrefix(got, ".:53 {\n    # pocketidp:begin") {
		t.Errorf("Patch of a bare opening line = %q, %v", got, err)
	}
}
