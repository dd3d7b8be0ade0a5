package testenv

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ErrNoBinaries is wrapped by LoadBinaries' error when the server binaries
// have not been built (or not completely), so callers such as a TestMain can
// tell "not built" apart from a broken cache.
var ErrNoBinaries = errors.New("server binaries not built")

// Binaries are the paths of the server binaries in the testbin cache, as
// recorded in its versions.env.
type Binaries struct {
	Gitea           string
	GiteaStaticRoot string // Gitea's source tree: templates and translations
	KubeAPIServer   string
	Etcd            string
}

// CacheDir returns the testbin cache folder, resolved exactly as
// scripts/testbin/build.sh resolves it so both always agree.
func CacheDir() (string, error) {
	if dir := os.Getenv("POCKETIDP_TESTBIN"); dir != "" {
		return dir, nil
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("testbin cache folder: %w", err)
		}
		cache = filepath.Join(home, ".cache")
	}
	return filepath.Join(cache, "pocketidp", "testbin"), nil
}

// LoadBinaries reads versions.env from the cache folder and checks that every
// binary it names exists. The error wraps ErrNoBinaries when something has
// not been built.
func LoadBinaries() (Binaries, error) {
	dir, err := CacheDir()
	if err != nil {
		return Binaries{}, err
	}
	path := filepath.Join(dir, "versions.env")
	vars, err := readEnvFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return Binaries{}, fmt.Errorf("%w: %s does not exist", ErrNoBinaries, path)
	}
	if err != nil {
		return Binaries{}, err
	}
	b := Binaries{
		Gitea:           vars["GITEA"],
		GiteaStaticRoot: vars["GITEA_STATIC_ROOT"],
		KubeAPIServer:   vars["KUBE_APISERVER"],
		Etcd:            vars["ETCD"],
	}
	for _, f := range []struct{ key, path string }{
		{"GITEA", b.Gitea},
		{"GITEA_STATIC_ROOT", b.GiteaStaticRoot},
		{"KUBE_APISERVER", b.KubeAPIServer},
		{"ETCD", b.Etcd},
	} {
		if f.path == "" {
			return Binaries{}, fmt.Errorf("%w: %s has no %s line", ErrNoBinaries, path, f.key)
		}
		if _, err := os.Stat(f.path); err != nil {
			return Binaries{}, fmt.Errorf("%w: %s from %s: %w", ErrNoBinaries, f.key, path, err)
		}
	}
	return b, nil
}

// readEnvFile parses KEY=VALUE lines, ignoring blanks and # comments.
func readEnvFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	vars := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("read %s: malformed line %q", path, line)
		}
		vars[strings.TrimSpace(key)] = strings.TrimSpace(value)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return vars, nil
}

// InCI reports whether the tests run in CI, where missing binaries must fail
// the run instead of skipping it.
func InCI() bool {
	return os.Getenv("CI") == "true"
}

// RequireBinaries returns the server binaries, or ends the test: skipped on a
// developer machine, failed in CI.
func RequireBinaries(t testing.TB) Binaries {
	t.Helper()
	b, err := LoadBinaries()
	if err == nil {
		return b
	}
	if InCI() || !errors.Is(err, ErrNoBinaries) {
		// A malformed cache is a bug to fix, not a reason to skip, anywhere.
		t.Fatalf("testenv: %v (build them with `make testbin`, i.e. scripts/testbin/build.sh)", err)
	}
	t.Skipf("testenv: %v; run `make testbin` (scripts/testbin/build.sh) to build the test servers", err)
	return Binaries{}
}
