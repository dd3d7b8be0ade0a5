// Package golden compares test output with files kept beside the tests,
// and rewrites them with `go test -update` once the change was checked.
// Only tests import it.
package golden

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files the tests compare with")

// Updating reports whether this run rewrites golden files.
func Updating() bool { return *update }

// Check compares got with the file at path (relative to the test's
// package), or writes got there under -update.
func Check(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file: %v (go test -run '%s' -update writes it)", err, t.Name())
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from the golden file (check the change, then go test -run '%s' -update):\n--- got\n%s\n--- want\n%s",
			path, t.Name(), got, want)
	}
}
