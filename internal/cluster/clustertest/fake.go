// Package clustertest has a fake container engine for tests of code that
// drives kind through cluster.Engine.
package clustertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	"sigs.k8s.io/yaml"

	"github.com/pocketidp/pocketidp/internal/cluster"
)

// Engine is an in-memory container engine that behaves like kind on top of
// docker as far as cluster.Engine shows it: Create publishes the config's
// port mappings on a running node, Export and Delete edit the kubeconfig
// file. Every cluster's kubeconfig points at Server (e.g. a testenv API
// server), so readiness is checked against a real API.
type Engine struct {
	EngineName string
	// Server is the kubeconfig every cluster gets; its first context is
	// renamed kind-<name>. Nil gives an address nothing listens on.
	Server *clientcmdapi.Config
	// Errors to return, by method name ("Create", "Clusters", ...).
	Err map[string]error
	// OnCreate, when set, runs first in Create; an error stops Create
	// before the node is made (an interrupted create, whose node kind may
	// make later: AddCluster).
	OnCreate func(ctx context.Context, name string) error

	mu       sync.Mutex
	clusters []string
	nodes    map[string]*cluster.Container
	configs  map[string][]byte
	calls    []string
}

var _ cluster.Engine = (*Engine)(nil)

// Name is the engine's name (docker unless set).
func (e *Engine) Name() string {
	if e.EngineName == "" {
		return "docker"
	}
	return e.EngineName
}

func (e *Engine) record(call string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls = append(e.calls, call)
	name, _, _ := cutSpace(call)
	return e.Err[name]
}

func cutSpace(s string) (string, string, bool) {
	for i := range s {
		if s[i] == ' ' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// Calls returns the calls so far, e.g. "Create 5min-idp".
func (e *Engine) Calls() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.calls)
}

// Config returns the raw config the cluster was created from.
func (e *Engine) Config(name string) []byte {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.configs[name]
}

// AddCluster makes a cluster exist as if someone else had created it.
func (e *Engine) AddCluster(name string, node cluster.Container) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.addLocked(name, node)
}

func (e *Engine) addLocked(name string, node cluster.Container) {
	if e.nodes == nil {
		e.nodes = map[string]*cluster.Container{}
	}
	if !slices.Contains(e.clusters, name) {
		e.clusters = append(e.clusters, name)
	}
	n := node
	e.nodes[name+"-control-plane"] = &n
}

// StopNode stops a node container, like a machine reboot does.
func (e *Engine) StopNode(container string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if n := e.nodes[container]; n != nil {
		n.Running = false
	}
}

// Clusters lists the clusters.
func (e *Engine) Clusters(context.Context) ([]string, error) {
	if err := e.record("Clusters"); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.clusters), nil
}

// Create parses the config as kind would and starts its node.
func (e *Engine) Create(ctx context.Context, name string, raw []byte, exportPath string) error {
	if err := e.record("Create " + name); err != nil {
		return err
	}
	if e.OnCreate != nil {
		if err := e.OnCreate(ctx, name); err != nil {
			return err
		}
	}
	var cfg v1alpha4.Cluster
	if err := yaml.UnmarshalStrict(raw, &cfg); err != nil {
		return fmt.Errorf("parse config: %w", err)
	}
	if len(cfg.Nodes) != 1 {
		return fmt.Errorf("fake engine: want one node, got %d", len(cfg.Nodes))
	}
	node := cluster.Container{Running: true, Ports: map[int][]cluster.HostPort{}}
	for _, pm := range cfg.Nodes[0].ExtraPortMappings {
		node.Ports[int(pm.ContainerPort)] = append(node.Ports[int(pm.ContainerPort)],
			cluster.HostPort{IP: pm.ListenAddress, Port: int(pm.HostPort)})
	}
	e.mu.Lock()
	if slices.Contains(e.clusters, name) {
		e.mu.Unlock()
		return fmt.Errorf("node(s) already exist for a cluster with the name %q", name)
	}
	e.addLocked(name, node)
	if e.configs == nil {
		e.configs = map[string][]byte{}
	}
	e.configs[name] = raw
	e.mu.Unlock()
	return e.export(name, exportPath)
}

// Delete removes the cluster and its context.
func (e *Engine) Delete(_ context.Context, name, exportPath string) error {
	if err := e.record("Delete " + name); err != nil {
		return err
	}
	e.mu.Lock()
	e.clusters = slices.DeleteFunc(e.clusters, func(s string) bool { return s == name })
	delete(e.nodes, name+"-control-plane")
	e.mu.Unlock()
	return editKubeconfig(exportPath, func(c *clientcmdapi.Config) {
		ctx := "kind-" + name
		delete(c.Contexts, ctx)
		delete(c.Clusters, ctx)
		delete(c.AuthInfos, ctx)
		if c.CurrentContext == ctx {
			c.CurrentContext = ""
		}
	})
}

// Kubeconfig returns the cluster's kubeconfig.
func (e *Engine) Kubeconfig(_ context.Context, name string) ([]byte, error) {
	if err := e.record("Kubeconfig " + name); err != nil {
		return nil, err
	}
	e.mu.Lock()
	ok := slices.Contains(e.clusters, name)
	e.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("could not locate any control plane nodes for cluster named %q", name)
	}
	return clientcmd.Write(*e.kubeconfig(name))
}

// ExportKubeconfig merges the cluster's context into the file.
func (e *Engine) ExportKubeconfig(_ context.Context, name, exportPath string) error {
	if err := e.record("ExportKubeconfig " + name); err != nil {
		return err
	}
	return e.export(name, exportPath)
}

func (e *Engine) export(name, exportPath string) error {
	kc := e.kubeconfig(name)
	return editKubeconfig(exportPath, func(c *clientcmdapi.Config) {
		for k, v := range kc.Clusters {
			c.Clusters[k] = v
		}
		for k, v := range kc.AuthInfos {
			c.AuthInfos[k] = v
		}
		for k, v := range kc.Contexts {
			c.Contexts[k] = v
		}
		c.CurrentContext = kc.CurrentContext
	})
}

func (e *Engine) kubeconfig(name string) *clientcmdapi.Config {
	ctx := "kind-" + name
	out := clientcmdapi.NewConfig()
	server := &clientcmdapi.Cluster{Server: "https://127.0.0.1:1"}
	user := &clientcmdapi.AuthInfo{Token: "fake"}
	if e.Server != nil {
		for _, c := range e.Server.Contexts {
			server = e.Server.Clusters[c.Cluster]
			user = e.Server.AuthInfos[c.AuthInfo]
			break
		}
	}
	out.Clusters[ctx] = server
	out.AuthInfos[ctx] = user
	out.Contexts[ctx] = &clientcmdapi.Context{Cluster: ctx, AuthInfo: ctx}
	out.CurrentContext = ctx
	return out
}

// Inspect reports a node.
func (e *Engine) Inspect(_ context.Context, container string) (cluster.Container, error) {
	if err := e.record("Inspect " + container); err != nil {
		return cluster.Container{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	n := e.nodes[container]
	if n == nil {
		return cluster.Container{}, fmt.Errorf("container %s: %w", container, cluster.ErrNotFound)
	}
	return *n, nil
}

// Start starts a node.
func (e *Engine) Start(_ context.Context, container string) error {
	if err := e.record("Start " + container); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	n := e.nodes[container]
	if n == nil {
		return fmt.Errorf("no such container: %s", container)
	}
	n.Running = true
	return nil
}

func editKubeconfig(path string, edit func(*clientcmdapi.Config)) error {
	if path == "" {
		// Never the user's own kubeconfig from a test.
		return errors.New("fake engine: tests must pass an explicit kubeconfig path")
	}
	cfg, err := clientcmd.LoadFromFile(path)
	if errors.Is(err, os.ErrNotExist) {
		cfg, err = clientcmdapi.NewConfig(), nil
	}
	if err != nil {
		return err
	}
	edit(cfg)
	return clientcmd.WriteToFile(*cfg, path)
}
