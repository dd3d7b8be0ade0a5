package cluster

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/kind/pkg/apis/config/defaults"
	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	"sigs.k8s.io/yaml"

	goldenfile "github.com/pocketidp/pocketidp/internal/golden"
)

func defaultConfig() Config {
	return Config{Name: "5min-idp", Port: 8443, ListenAddress: "127.0.0.1", Provider: "docker", RegistryPort: 5001}
}

func TestRenderGolden(t *testing.T) {
	tests := []struct {
		golden string
		change func(*Config)
	}{
		{"kind-default.yaml", func(*Config) {}},
		{"kind-custom-port.yaml", func(c *Config) { c.Port = 9443 }},
		{"kind-listen-address.yaml", func(c *Config) { c.ListenAddress = "0.0.0.0" }},
		{"kind-podman.yaml", func(c *Config) { c.Provider = "podman" }},
		{"kind-http-port.yaml", func(c *Config) { c.HTTPPort = 8080; c.Name = "other" }},
		{"kind-coder-forward-port.yaml", func(c *Config) { c.ForwardPort = 443 }},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			c := defaultConfig()
			tt.change(&c)
			got, err := c.Render()
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tt.golden, got)

			// kind parses the same bytes strictly into v1alpha4: a field
			// kind does not know would fail here, not on a user's machine.
			var back v1alpha4.Cluster
			if err := yaml.UnmarshalStrict(got, &back); err != nil {
				t.Fatalf("kind could not parse the rendered config: %v", err)
			}
			if !reflect.DeepEqual(&back, c.KindConfig()) {
				t.Errorf("round trip changed the config:\n%+v\n%+v", back, *c.KindConfig())
			}
		})
	}
}

func TestRenderContents(t *testing.T) {
	c := defaultConfig()
	c.HTTPPort = 8080
	k := c.KindConfig()
	if len(k.Nodes) != 1 || k.Nodes[0].Role != v1alpha4.ControlPlaneRole {
		t.Fatalf("want one control-plane node, got %+v", k.Nodes)
	}
	n := k.Nodes[0]
	if n.Labels["ingress-ready"] != "true" {
		t.Errorf("node not labelled ingress-ready=true: %v", n.Labels)
	}
	want := []v1alpha4.PortMapping{
		{ContainerPort: 30443, HostPort: 8443, ListenAddress: "127.0.0.1", Protocol: "TCP"},
		{ContainerPort: 30080, HostPort: 8080, ListenAddress: "127.0.0.1", Protocol: "TCP"},
		{ContainerPort: 5001, HostPort: 5001, ListenAddress: "127.0.0.1", Protocol: "TCP"},
	}
	if !reflect.DeepEqual(n.ExtraPortMappings, want) {
		t.Errorf("port mappings = %+v, want %+v", n.ExtraPortMappings, want)
	}
	if !strings.Contains(n.Image, "@sha256:") {
		t.Errorf("node image %q is not pinned by digest", n.Image)
	}
	if len(k.ContainerdConfigPatches) != 1 || !strings.Contains(k.ContainerdConfigPatches[0], `config_path = "/etc/containerd/certs.d"`) {
		t.Errorf("containerd patch does not set config_path: %q", k.ContainerdConfigPatches)
	}
}

// A kind upgrade changes its default node image; the pin must follow
// deliberately (and the golden files with it).
func TestNodeImageIsKindDefault(t *testing.T) {
	if NodeImage != defaults.Image {
		t.Errorf("NodeImage = %s, kind's default is %s: update the pin and the golden files", NodeImage, defaults.Image)
	}
}

func TestPodmanImageQualified(t *testing.T) {
	tests := []struct{ provider, image, want string }{
		{"docker", "kindest/node:v1@sha256:ab", "kindest/node:v1@sha256:ab"},
		{"podman", "kindest/node:v1@sha256:ab", "docker.io/kindest/node:v1@sha256:ab"},
		{"podman", "registry.example:5000/node:v1", "registry.example:5000/node:v1"},
	}
	for _, tt := range tests {
		c := Config{Provider: tt.provider, Image: tt.image}
		if got := c.image(); got != tt.want {
			t.Errorf("%s %s: image() = %s, want %s", tt.provider, tt.image, got, tt.want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"no name", func(c *Config) { c.Name = "" }, "no cluster name"},
		{"port zero", func(c *Config) { c.Port = 0 }, "port 0 out of range"},
		{"port too high", func(c *Config) { c.Port = 70000 }, "out of range"},
		{"http equals https", func(c *Config) { c.HTTPPort = 8443 }, "equals the HTTPS port"},
		{"forward equals https", func(c *Config) { c.ForwardPort = 8443 }, "forward port 8443"},
		{"bad address", func(c *Config) { c.ListenAddress = "localhost" }, "not an IP address"},
		{"bad provider", func(c *Config) { c.Provider = "nerdctl" }, "neither docker nor podman"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := defaultConfig()
			tt.change(&c)
			_, err := c.Render()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Render() error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	goldenfile.Check(t, filepath.Join("testdata", name), got)
}
