package testenv

import (
	"context"
	"maps"
	"testing"
	"time"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/loader"
	chartv2 "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/cli"
	"helm.sh/helm/v4/pkg/kube"
	releasev1 "helm.sh/helm/v4/pkg/release/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestHelmLifecycle installs the hello chart from the local repository,
// upgrades it to the next version with other values, lists and uninstalls
// it, checking the ConfigMap the chart renders after every step.
func TestHelmLifecycle(t *testing.T) {
	repo := ChartRepo(t, TestChart(t, "hello-0.1.0"), TestChart(t, "hello-0.2.0"))
	c := SharedAPIServer(t)
	ns := c.Namespace(t)
	settings := c.HelmSettings(t, ns)
	cfg := c.HelmConfig(t, settings)
	cs, err := c.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const release = "demo"

	steps := []struct {
		version  string
		values   map[string]any
		wantData map[string]string
	}{
		{
			version:  "0.1.0",
			values:   map[string]any{"greeting": "hi"},
			wantData: map[string]string{"greeting": "hi", "chartVersion": "0.1.0"},
		},
		{
			version:  "0.2.0",
			values:   map[string]any{"greeting": "bonjour", "audience": "monde"},
			wantData: map[string]string{"greeting": "bonjour", "audience": "monde", "chartVersion": "0.2.0"},
		},
	}
	for i, step := range steps {
		began := time.Now()
		var rel any
		if i == 0 {
			install := action.NewInstall(cfg)
			install.Namespace = ns
			install.ReleaseName = release
			// No kubelet: nothing ever becomes ready, so wait only for hooks
			// (the test charts have none).
			install.WaitStrategy = kube.HookOnlyStrategy
			install.Timeout = time.Minute
			install.RepoURL = repo.URL
			install.Version = step.version
			ch := loadChart(t, &install.ChartPathOptions, settings)
			rel, err = install.RunWithContext(ctx, ch, step.values)
		} else {
			upgrade := action.NewUpgrade(cfg)
			upgrade.Namespace = ns
			upgrade.WaitStrategy = kube.HookOnlyStrategy
			upgrade.Timeout = time.Minute
			upgrade.RepoURL = repo.URL
			upgrade.Version = step.version
			ch := loadChart(t, &upgrade.ChartPathOptions, settings)
			rel, err = upgrade.RunWithContext(ctx, release, ch, step.values)
		}
		if err != nil {
			t.Fatalf("step %d (%s): %v", i, step.version, err)
		}
		t.Logf("helm step %d (chart %s) took %s", i, step.version, time.Since(began).Round(time.Millisecond))
		r := rel.(*releasev1.Release)
		if r.Version != i+1 || r.Chart.Metadata.Version != step.version {
			t.Errorf("step %d: release revision %d chart %s, want revision %d chart %s",
				i, r.Version, r.Chart.Metadata.Version, i+1, step.version)
		}

		cm, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, release+"-hello", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("step %d: get ConfigMap: %v", i, err)
		}
		if !maps.Equal(cm.Data, step.wantData) {
			t.Errorf("step %d: ConfigMap data = %v, want %v", i, cm.Data, step.wantData)
		}
	}

	list := action.NewList(cfg)
	releases, err := list.Run()
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if len(releases) != 1 {
		t.Fatalf("list: %d releases, want 1", len(releases))
	}
	listed := releases[0].(*releasev1.Release)
	if listed.Name != release || listed.Version != 2 || listed.Info.Status != "deployed" {
		t.Errorf("listed release %s revision %d status %s, want %s revision 2 deployed",
			listed.Name, listed.Version, listed.Info.Status, release)
	}

	uninstall := action.NewUninstall(cfg)
	uninstall.WaitStrategy = kube.HookOnlyStrategy
	uninstall.Timeout = time.Minute
	if _, err := uninstall.Run(release); err != nil {
		t.Fatalf("uninstall: %v", err)
	}
	_, err = cs.CoreV1().ConfigMaps(ns).Get(ctx, release+"-hello", metav1.GetOptions{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("ConfigMap after uninstall: err = %v, want NotFound", err)
	}
	if releases, err := action.NewList(cfg).Run(); err != nil || len(releases) != 0 {
		t.Errorf("list after uninstall: %d releases, err %v; want none", len(releases), err)
	}
}

// TestChartRepoIndex checks the repository's index lists both versions of
// the chart with URLs that download the archives.
func TestChartRepoIndex(t *testing.T) {
	repo := ChartRepo(t, TestChart(t, "hello-0.1.0"), TestChart(t, "hello-0.2.0"))
	settings := cli.New()
	dir := t.TempDir()
	settings.RepositoryConfig = dir + "/repositories.yaml"
	settings.RepositoryCache = dir + "/repository"
	settings.ContentCache = dir + "/content"
	for _, version := range []string{"0.1.0", "0.2.0", ""} {
		opts := action.ChartPathOptions{RepoURL: repo.URL, Version: version}
		ch := loadChart(t, &opts, settings)
		want := version
		if want == "" {
			want = "0.2.0" // no version: the newest
		}
		if ch.Metadata.Version != want {
			t.Errorf("version %q: got chart %s, want %s", version, ch.Metadata.Version, want)
		}
	}
	opts := action.ChartPathOptions{RepoURL: repo.URL, Version: "9.9.9"}
	if _, err := opts.LocateChart("hello", settings); err == nil {
		t.Error("locating a version the repository lacks succeeded")
	}
}

// loadChart downloads chart "hello" as the options say and loads it.
func loadChart(t *testing.T, opts *action.ChartPathOptions, settings *cli.EnvSettings) *chartv2.Chart {
	t.Helper()
	path, err := opts.LocateChart("hello", settings)
	if err != nil {
		t.Fatalf("locate chart hello %s in %s: %v", opts.Version, opts.RepoURL, err)
	}
	ch, err := loader.Load(path)
	if err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	v2, ok := ch.(*chartv2.Chart)
	if !ok {
		t.Fatalf("load %s: a %T, want a v2 chart", path, ch)
	}
	return v2
}
