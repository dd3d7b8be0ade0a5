package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	kindcluster "sigs.k8s.io/kind/pkg/cluster"

	"github.com/pocketidp/pocketidp/internal/orchestrator/image"
	"github.com/pocketidp/pocketidp/internal/report"
)

// Engine is the seam to the container engine, as seen through kind. The
// real one (NewKindEngine) calls kind's library and the engine's CLI; tests
// use a fake, so everything on this side of kind is unit-tested.
type Engine interface {
	// Name is the engine: docker or podman.
	Name() string
	// Clusters lists the kind clusters whose node containers exist.
	Clusters(ctx context.Context) ([]string, error)
	// Create creates a cluster from a rendered v1alpha4 config, and merges
	// its context into the kubeconfig at exportPath ("" = kind's default:
	// $KUBECONFIG or ~/.kube/config). kind removes the nodes again when
	// creation fails.
	Create(ctx context.Context, name string, config []byte, exportPath string) error
	// Delete deletes the cluster's nodes and its kubeconfig context.
	Delete(ctx context.Context, name, exportPath string) error
	// Kubeconfig returns the cluster's kubeconfig as seen from the host.
	Kubeconfig(ctx context.Context, name string) ([]byte, error)
	// ExportKubeconfig merges the cluster's context into exportPath.
	ExportKubeconfig(ctx context.Context, name, exportPath string) error
	// Inspect reports a container; ErrNotFound when there is none.
	Inspect(ctx context.Context, container string) (Container, error)
	// Start starts a stopped container.
	Start(ctx context.Context, container string) error
}

// Container is what Inspect reports about a node container.
type Container struct {
	Running bool
	// Ports maps a container port (TCP) to the host addresses publishing it.
	Ports map[int][]HostPort
}

// HostPort is one host address a container port is published on.
type HostPort struct {
	IP   string
	Port int
}

func (h HostPort) String() string {
	ip := h.IP
	if ip == "" {
		ip = "0.0.0.0"
	}
	return netJoin(ip, h.Port)
}

// ErrNotFound says the cluster or container does not exist.
var ErrNotFound = errors.New("not found")

// Runner runs an engine command and returns its standard output; an error
// carries the command's own message (doctor.System.Output does this).
type Runner func(ctx context.Context, name string, args ...string) ([]byte, error)

// NewKindEngine drives provider ("docker" or "podman", as doctor.DetectEngine
// found it) through kind's library; run executes the engine's CLI for what
// kind has no API for (inspect, start). kind's messages go to log, its
// phases ("Preparing nodes", ...) to progress.
// kind's library logs to a logger given when the provider is made: the
// one ctx carries (internal/report).
func NewKindEngine(ctx context.Context, provider string, run Runner) (Engine, error) {
	r := report.From(ctx)
	logger := newKindLogger(r.Logger(), r.Step)
	var opt kindcluster.ProviderOption
	switch provider {
	case "docker":
		opt = kindcluster.ProviderWithDocker()
	case "podman":
		opt = kindcluster.ProviderWithPodman()
	default:
		return nil, fmt.Errorf("container engine %q is not supported by kind here (docker or podman)", provider)
	}
	return &kindEngine{
		name: provider,
		run:  run,
		p:    kindcluster.NewProvider(kindcluster.ProviderWithLogger(logger), opt),
	}, nil
}

type kindEngine struct {
	name string
	run  Runner
	p    *kindcluster.Provider
}

func (e *kindEngine) Name() string { return e.name }

// inBackground runs a kind call, which takes no context, and stops waiting
// when ctx ends. kind itself goes on until it returns or the process exits;
// a cluster left half-made is found by the next run (it is recorded as ours
// before creation starts) and recreated.
func inBackground(ctx context.Context, fn func() error) error {
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (e *kindEngine) Clusters(ctx context.Context) ([]string, error) {
	var names []string
	err := inBackground(ctx, func() (err error) {
		names, err = e.p.List()
		return err
	})
	return names, err
}

func (e *kindEngine) Create(ctx context.Context, name string, config []byte, exportPath string) error {
	return inBackground(ctx, func() error {
		return e.p.Create(name,
			kindcluster.CreateWithRawConfig(config),
			kindcluster.CreateWithKubeconfigPath(exportPath),
			// Readiness is waited for with client-go afterwards: kind's own
			// wait reports success when it times out.
			kindcluster.CreateWithWaitForReady(0),
			kindcluster.CreateWithDisplayUsage(false),
			kindcluster.CreateWithDisplaySalutation(false),
		)
	})
}

func (e *kindEngine) Delete(ctx context.Context, name, exportPath string) error {
	return inBackground(ctx, func() error { return e.p.Delete(name, exportPath) })
}

func (e *kindEngine) Kubeconfig(ctx context.Context, name string) ([]byte, error) {
	var s string
	err := inBackground(ctx, func() (err error) {
		s, err = e.p.KubeConfig(name, false)
		return err
	})
	return []byte(s), err
}

func (e *kindEngine) ExportKubeconfig(ctx context.Context, name, exportPath string) error {
	return inBackground(ctx, func() error { return e.p.ExportKubeConfig(name, exportPath, false) })
}

func (e *kindEngine) Inspect(ctx context.Context, container string) (Container, error) {
	out, err := e.run(ctx, e.name, "container", "inspect", container)
	if err != nil {
		if isNoSuchContainer(err.Error()) {
			return Container{}, fmt.Errorf("container %s: %w", container, ErrNotFound)
		}
		return Container{}, fmt.Errorf("%s container inspect %s: %w", e.name, container, err)
	}
	return parseInspect(out)
}

func (e *kindEngine) Start(ctx context.Context, container string) error {
	if _, err := e.run(ctx, e.name, "start", container); err != nil {
		return fmt.Errorf("%s start %s: %w", e.name, container, err)
	}
	return nil
}

func isNoSuchContainer(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "no such container") || strings.Contains(m, "no such object")
}

// parseInspect reads `docker|podman container inspect` output: both print a
// JSON array with State.Running and HostConfig.PortBindings.
func parseInspect(out []byte) (Container, error) {
	var list []struct {
		State struct {
			Running bool
		}
		HostConfig struct {
			PortBindings map[string][]struct {
				HostIP   string `json:"HostIp"`
				HostPort string
			}
		}
	}
	if err := json.Unmarshal(out, &list); err != nil {
		return Container{}, fmt.Errorf("read container inspect output: %w", err)
	}
	if len(list) == 0 {
		return Container{}, ErrNotFound
	}
	c := Container{Running: list[0].State.Running, Ports: map[int][]HostPort{}}
	for key, bindings := range list[0].HostConfig.PortBindings {
		portStr, proto, _ := strings.Cut(key, "/")
		if proto != "" && !strings.EqualFold(proto, "tcp") {
			continue
		}
		port, err := strconv.Atoi(portStr)
		if err != nil {
			continue
		}
		for _, b := range bindings {
			hp, err := strconv.Atoi(b.HostPort)
			if err != nil {
				continue
			}
			c.Ports[port] = append(c.Ports[port], HostPort{IP: b.HostIP, Port: hp})
		}
	}
	return c, nil
}

// ImageLoader is implemented by engines that can put an image into a kind
// cluster's nodes, as `kind load image-archive` does (the real one can).
type ImageLoader interface {
	LoadImage(ctx context.Context, clusterName, ref string, img v1.Image) error
}

// LoadImage loads img, tagged ref, into every node of kind cluster
// clusterName; nodes that have it already are left alone.
func (e *kindEngine) LoadImage(ctx context.Context, clusterName, ref string, img v1.Image) error {
	return inBackground(ctx, func() error { return image.LoadIntoKind(e.p, clusterName, ref, img) })
}
