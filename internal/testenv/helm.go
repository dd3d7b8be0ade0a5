package testenv

import (
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/cli"
)

// HelmSettings returns Helm SDK settings aimed at the cluster, with every
// file Helm would read or write (repositories, caches, registry login) in a
// temporary folder, so tests never touch the user's Helm setup and never see
// each other's caches. HELM_* variables in the environment are overridden.
func (c *Cluster) HelmSettings(t testing.TB, namespace string) *cli.EnvSettings {
	t.Helper()
	dir := t.TempDir()
	s := cli.New()
	s.KubeConfig = c.KubeconfigPath
	s.KubeContext = KubeContext
	s.KubeToken, s.KubeAPIServer, s.KubeCaFile, s.KubeAsUser = "", "", "", ""
	s.KubeAsGroups = nil
	s.KubeInsecureSkipTLSVerify = false
	s.SetNamespace(namespace)
	s.RepositoryConfig = filepath.Join(dir, "repositories.yaml")
	s.RepositoryCache = filepath.Join(dir, "repository")
	s.ContentCache = filepath.Join(dir, "content")
	s.RegistryConfig = filepath.Join(dir, "registry.json")
	s.PluginsDirectory = filepath.Join(dir, "plugins")
	return s
}

// HelmConfig returns a Helm action configuration for namespace on the
// cluster, storing releases as Secrets (Helm's default), with Helm's log
// going to the test log.
func (c *Cluster) HelmConfig(t testing.TB, settings *cli.EnvSettings) *action.Configuration {
	t.Helper()
	cfg := action.NewConfiguration(action.ConfigurationSetLogger(slog.NewTextHandler(testWriter{t}, nil)))
	if err := cfg.Init(settings.RESTClientGetter(), settings.Namespace(), "secret"); err != nil {
		t.Fatalf("testenv: helm configuration: %v", err)
	}
	return cfg
}

// testWriter sends log lines to t.Log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
