package testenv

import (
	"embed"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// The test charts are embedded so tests in any package can use them; a
// relative testdata path only works from this package's folder.
//
//go:embed testdata/charts
var testCharts embed.FS

// TestChart returns the folder of one of this package's test charts, copied
// into a temporary folder for the test. Charts:
//
//   - hello-0.1.0: ConfigMap <release>-hello with data greeting (value
//     "greeting", default "hello") and chartVersion.
//   - hello-0.2.0: the same chart, version 0.2.0, adding data audience
//     (value "audience", default "world").
func TestChart(t testing.TB, name string) string {
	t.Helper()
	src := "testdata/charts/" + name
	if _, err := fs.Stat(testCharts, src+"/Chart.yaml"); err != nil {
		t.Fatalf("testenv: no test chart %q: %v", name, err)
	}
	sub, err := fs.Sub(testCharts, src)
	if err != nil {
		t.Fatalf("testenv: test chart %q: %v", name, err)
	}
	dest := filepath.Join(t.TempDir(), name)
	if err := os.CopyFS(dest, sub); err != nil {
		t.Fatalf("testenv: copy test chart %q: %v", name, err)
	}
	return dest
}
