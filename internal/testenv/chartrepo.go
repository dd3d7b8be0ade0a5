package testenv

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"helm.sh/helm/v4/pkg/action"
	repo "helm.sh/helm/v4/pkg/repo/v1"
)

// ChartRepoServer is a classic (index.yaml) Helm chart repository on
// loopback, holding charts packaged by the Helm SDK itself so they are exactly
// what `helm package` and `helm repo index` would produce.
type ChartRepoServer struct {
	URL      string   // http://127.0.0.1:<port>, no trailing slash
	Dir      string   // the served folder: *.tgz and index.yaml
	Archives []string // paths of the packaged charts, in argument order

	server  *httptest.Server
	ownsDir bool
}

// ChartRepo packages chartDirs into a repository served for the test and
// closed in t.Cleanup. TestChart gives the paths of this package's charts.
func ChartRepo(t testing.TB, chartDirs ...string) *ChartRepoServer {
	t.Helper()
	r, err := NewChartRepo(chartDirs...)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(r.Close)
	return r
}

// NewChartRepo packages chartDirs into a new temporary folder, indexes them
// and serves the folder. Close stops the server and removes the folder.
func NewChartRepo(chartDirs ...string) (_ *ChartRepoServer, err error) {
	dir, err := os.MkdirTemp("", "testenv-charts-")
	if err != nil {
		return nil, fmt.Errorf("chart repo: %w", err)
	}
	r := &ChartRepoServer{Dir: dir, ownsDir: true}
	defer func() {
		if err != nil {
			r.Close()
		}
	}()
	pkg := action.NewPackage()
	pkg.Destination = dir
	for _, chartDir := range chartDirs {
		archive, err := pkg.Run(chartDir, nil)
		if err != nil {
			return nil, fmt.Errorf("chart repo: package %s: %w", chartDir, err)
		}
		r.Archives = append(r.Archives, archive)
	}
	// The index holds absolute chart URLs, so the server must be listening
	// (and its URL known) before the index is written; nobody asks for it
	// before NewChartRepo returns.
	r.server = httptest.NewServer(http.FileServer(http.Dir(dir)))
	r.URL = r.server.URL
	index, err := repo.IndexDirectory(dir, r.URL)
	if err != nil {
		return nil, fmt.Errorf("chart repo: index: %w", err)
	}
	index.SortEntries()
	if err := index.WriteFile(filepath.Join(dir, "index.yaml"), 0o644); err != nil {
		return nil, fmt.Errorf("chart repo: write index: %w", err)
	}
	return r, nil
}

// Close stops serving and removes the repository folder.
func (r *ChartRepoServer) Close() {
	if r.server != nil {
		r.server.Close()
	}
	if r.ownsDir {
		os.RemoveAll(r.Dir)
	}
}
