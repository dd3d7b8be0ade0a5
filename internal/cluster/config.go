// Package cluster brings up the Kubernetes cluster PocketIDP installs into:
// a kind cluster driven through kind as a library (created, adopted or
// deleted, its existence always read from the container engine), or a
// cluster the user already has, reached through their kubeconfig.
package cluster

import (
	"fmt"
	"net"
	"strings"

	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	"sigs.k8s.io/yaml"

	"github.com/pocketidp/pocketidp/internal/config"
)

// NodeImage is the node image every cluster is created from: the image kind
// v0.33.0 defaults to (sigs.k8s.io/kind/pkg/apis/config/defaults.Image),
// pinned by digest so a retagged image can never change what runs. A test
// fails when kind's default moves, so upgrading kind is a conscious choice.
const NodeImage = "kindest/node:v1.37.0@sha256:a1ed56cfb0e7b93589bdf97c8cd566405a265939e3620fc4f5de89adff580ae5"

// Container ports of the node that the ingress (Traefik's NodePorts) uses.
const (
	IngressHTTPSNodePort = config.IngressHTTPSNodePort
	IngressHTTPNodePort  = config.IngressHTTPNodePort
)

// RegistryConfigDir is where containerd reads per-registry hosts.toml files
// (mirrors, plain-HTTP registries such as localhost:5001). The node image's
// containerd ignores it unless config_path points there.
const RegistryConfigDir = "/etc/containerd/certs.d"

// containerdPatch sets config_path. kind's node image writes a version 2
// containerd config, and kind applies a patch only when its version matches,
// so the patch uses the version 2 plugin name.
const containerdPatch = `[plugins."io.containerd.grpc.v1.cri".registry]
  config_path = "` + RegistryConfigDir + `"
`

// Config is what the kind cluster is made of.
type Config struct {
	// Name of the cluster; its node container is <Name>-control-plane.
	Name string
	// Port on the host that reaches the ingress's HTTPS NodePort 30443.
	Port int
	// ListenAddress is the host address Port (and HTTPPort) bind to.
	ListenAddress string
	// HTTPPort, when not zero, maps the ingress's HTTP NodePort 30080.
	HTTPPort int
	// ForwardPort, when not zero, is a second host port for the HTTPS
	// NodePort: in a Coder workspace, where `coder port-forward` ends.
	ForwardPort int
	// RegistryPort, when not zero, publishes the node's port of the same
	// number, where the image registry listens on the node's network, as
	// the host's RegistryPort: `docker push localhost:5001/...` from the
	// host reaches the registry the cluster pulls from.
	RegistryPort int
	// Provider is the container engine kind drives: docker or podman.
	Provider string
	// Image overrides NodeImage (tests, offline mirrors).
	Image string
}

// image is the node image reference written into the config.
func (c Config) image() string {
	img := c.Image
	if img == "" {
		img = NodeImage
	}
	// Podman resolves short names through registries.conf, which may be set
	// to ask interactively or refuse; kind qualifies its own pull, but the
	// reference in the config (and the one we report) is the one a user
	// would `podman pull`, so it names its registry.
	if c.Provider == "podman" && !strings.Contains(strings.SplitN(img, "/", 2)[0], ".") {
		img = "docker.io/" + img
	}
	return img
}

// NodeName is the name of the control-plane node container.
func (c Config) NodeName() string { return config.NodeName(c.Name) }

// Validate checks what kind would otherwise reject late, after pulling.
func (c Config) Validate() error {
	if c.Name == "" {
		return fmt.Errorf("kind config: no cluster name")
	}
	if c.Port < 1 || c.Port > 65535 {
		return fmt.Errorf("kind config: port %d out of range", c.Port)
	}
	if c.HTTPPort < 0 || c.HTTPPort > 65535 || (c.HTTPPort != 0 && c.HTTPPort == c.Port) {
		return fmt.Errorf("kind config: HTTP port %d is out of range or equals the HTTPS port", c.HTTPPort)
	}
	if c.ForwardPort < 0 || c.ForwardPort > 65535 || (c.ForwardPort != 0 && (c.ForwardPort == c.Port || c.ForwardPort == c.HTTPPort)) {
		return fmt.Errorf("kind config: forward port %d is out of range or equals another port", c.ForwardPort)
	}
	if c.RegistryPort < 0 || c.RegistryPort > 65535 || (c.RegistryPort != 0 && (c.RegistryPort == c.Port || c.RegistryPort == c.HTTPPort || c.RegistryPort == c.ForwardPort)) {
		return fmt.Errorf("kind config: registry port %d is out of range or equals another port", c.RegistryPort)
	}
	if net.ParseIP(c.ListenAddress) == nil {
		return fmt.Errorf("kind config: listen address %q is not an IP address", c.ListenAddress)
	}
	if c.Provider != "docker" && c.Provider != "podman" {
		return fmt.Errorf("kind config: provider %q is neither docker nor podman", c.Provider)
	}
	return nil
}

// KindConfig returns the v1alpha4 cluster config: one control-plane node
// labelled for the ingress, the ingress NodePorts and the registry's port
// mapped to the host, and
// containerd reading registry hosts from RegistryConfigDir.
func (c Config) KindConfig() *v1alpha4.Cluster {
	ports := []v1alpha4.PortMapping{{
		ContainerPort: IngressHTTPSNodePort,
		HostPort:      int32(c.Port),
		ListenAddress: c.ListenAddress,
		Protocol:      v1alpha4.PortMappingProtocolTCP,
	}}
	if c.ForwardPort != 0 {
		ports = append(ports, v1alpha4.PortMapping{
			ContainerPort: IngressHTTPSNodePort,
			HostPort:      int32(c.ForwardPort),
			ListenAddress: c.ListenAddress,
			Protocol:      v1alpha4.PortMappingProtocolTCP,
		})
	}
	if c.HTTPPort != 0 {
		ports = append(ports, v1alpha4.PortMapping{
			ContainerPort: IngressHTTPNodePort,
			HostPort:      int32(c.HTTPPort),
			ListenAddress: c.ListenAddress,
			Protocol:      v1alpha4.PortMappingProtocolTCP,
		})
	}
	if c.RegistryPort != 0 {
		ports = append(ports, v1alpha4.PortMapping{
			ContainerPort: int32(c.RegistryPort),
			HostPort:      int32(c.RegistryPort),
			ListenAddress: c.ListenAddress,
			Protocol:      v1alpha4.PortMappingProtocolTCP,
		})
	}
	return &v1alpha4.Cluster{
		TypeMeta: v1alpha4.TypeMeta{Kind: "Cluster", APIVersion: "kind.x-k8s.io/v1alpha4"},
		Name:     c.Name,
		Nodes: []v1alpha4.Node{{
			Role:  v1alpha4.ControlPlaneRole,
			Image: c.image(),
			// The label the kind ingress guides select the ingress node by.
			Labels:            map[string]string{"ingress-ready": "true"},
			ExtraPortMappings: ports,
		}},
		ContainerdConfigPatches: []string{containerdPatch},
	}
}

// Render returns the config as the YAML kind parses. Create hands kind these
// exact bytes, so the golden files show precisely what kind is given.
func (c Config) Render() ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	b, err := yaml.Marshal(c.KindConfig())
	if err != nil {
		return nil, fmt.Errorf("render kind config: %w", err)
	}
	return b, nil
}
