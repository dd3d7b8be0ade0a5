package tui

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakePocketidp is a stand-in binary: it reports its version and records
// each `up` with what it saw of the environment.
const fakePocketidp = `#!/bin/sh
case "$1" in
version) echo "pocketidp VERSION (go1.26.8 linux/amd64)" ;;
up) echo "$* org=$HUMANITEC_ORG token=${HUMANITEC_TOKEN:+set} coder=$CODER" >>"$FAKE_CALLS"; exit ${FAKE_EXIT:-0} ;;
esac
`

type startupEnv struct {
	t                  *testing.T
	home, calls, binV1 string
	binV2              string
}

func newStartupEnv(t *testing.T) *startupEnv {
	dir := t.TempDir()
	e := &startupEnv{t: t, home: filepath.Join(dir, "home"), calls: filepath.Join(dir, "calls")}
	if err := os.MkdirAll(e.home, 0o755); err != nil {
		t.Fatal(err)
	}
	for v, p := range map[string]*string{"v1.0.0": &e.binV1, "v2.0.0": &e.binV2} {
		*p = filepath.Join(dir, "dist-"+v)
		if err := os.WriteFile(*p, []byte(strings.Replace(fakePocketidp, "VERSION", v, 1)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// run runs the startup script with a clean environment plus vars.
func (e *startupEnv) run(vars ...string) (string, error) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join("..", "..", "scripts", "coder-startup.sh"))
	cmd.Env = append([]string{"HOME=" + e.home, "PATH=" + os.Getenv("PATH"), "FAKE_CALLS=" + e.calls}, vars...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func (e *startupEnv) read(name string) string {
	e.t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		e.t.Fatal(err)
	}
	return string(b)
}

func TestCoderStartupScript(t *testing.T) {
	e := newStartupEnv(t)
	bin := filepath.Join(e.home, ".local", "bin", "pocketidp")
	creds := []string{"HUMANITEC_ORG=acme", "HUMANITEC_TOKEN=very-secret-token"}

	// First start: installs v1, runs up --yes with the workspace's variables.
	out, err := e.run(append(creds, "POCKETIDP_SOURCE="+e.binV1)...)
	if err != nil {
		t.Fatalf("first start: %v\n%s", err, out)
	}
	if !strings.Contains(out, "installed pocketidp v1.0.0") {
		t.Errorf("first start did not install v1.0.0:\n%s", out)
	}
	if strings.Contains(out, "very-secret-token") || strings.Contains(e.read(filepath.Join(e.home, ".cache", "pocketidp", "coder-startup.log")), "very-secret-token") {
		t.Error("the token was printed or logged")
	}
	installed, _ := os.Stat(bin)

	// Second start: nothing to update, up runs again (it converges), the rc
	// line is not added twice.
	out, err = e.run(append(creds, "POCKETIDP_SOURCE="+e.binV1)...)
	if err != nil {
		t.Fatalf("second start: %v\n%s", err, out)
	}
	if !strings.Contains(out, "pocketidp v1.0.0 is up to date") {
		t.Errorf("second start:\n%s", out)
	}
	if again, _ := os.Stat(bin); !again.ModTime().Equal(installed.ModTime()) {
		t.Error("an up-to-date binary was replaced")
	}
	calls := strings.Split(strings.TrimSpace(e.read(e.calls)), "\n")
	if len(calls) != 2 || calls[0] != "up --yes org=acme token=set coder=true" {
		t.Errorf("up calls = %q, want two `up --yes` with org, token and CODER", calls)
	}
	bashrc := e.read(filepath.Join(e.home, ".bashrc"))
	if n := strings.Count(bashrc, "# pocketidp"); n != 1 {
		t.Errorf(".bashrc has the pocketidp line %d times:\n%s", n, bashrc)
	}
	shell := exec.Command("bash", "-c", `. "$HOME/.bashrc"; echo "$HUMANITEC_ORG"; command -v pocketidp`)
	shell.Env = []string{"HOME=" + e.home, "PATH=/usr/bin:/bin"}
	got, err := shell.Output()
	if err != nil {
		t.Fatalf("a new shell: %v", err)
	}
	if want := "acme\n" + bin + "\n"; string(got) != want {
		t.Errorf("a new shell sees %q, want %q", got, want)
	}

	// A new release at the source: updated in place.
	out, err = e.run(append(creds, "POCKETIDP_SOURCE="+e.binV2, "POCKETIDP_ARGS=--port 9443")...)
	if err != nil || !strings.Contains(out, "updated pocketidp v1.0.0 -> v2.0.0") {
		t.Fatalf("update: %v\n%s", err, out)
	}
	if last := lastLine(e.read(e.calls)); last != "up --yes --port 9443 org=acme token=set coder=true" {
		t.Errorf("last up call = %q", last)
	}

	// The wanted version is installed: the source is not even read.
	out, err = e.run(append(creds, "POCKETIDP_VERSION=v2.0.0", "POCKETIDP_SOURCE=/nonexistent/pocketidp")...)
	if err != nil || !strings.Contains(out, "pocketidp v2.0.0 is installed") {
		t.Errorf("pinned version: %v\n%s", err, out)
	}

	// The source holds another version than the one asked for: refused.
	out, err = e.run(append(creds, "POCKETIDP_VERSION=v3.0.0", "POCKETIDP_SOURCE="+e.binV1)...)
	if err == nil || !strings.Contains(out, "holds pocketidp v1.0.0, not POCKETIDP_VERSION v3.0.0") {
		t.Errorf("wrong version at the source: %v\n%s", err, out)
	}
	leftovers, _ := filepath.Glob(filepath.Join(e.home, ".local", "bin", ".pocketidp.*"))
	if len(leftovers) != 0 {
		t.Errorf("temporary downloads left behind: %v", leftovers)
	}

	// `up` fails: the script fails with its exit code, so Coder shows it.
	out, err = e.run(append(creds, "FAKE_EXIT=3")...)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Errorf("failed up: err = %v, want exit 3\n%s", err, out)
	}
}

func TestCoderStartupScriptWithoutSource(t *testing.T) {
	e := newStartupEnv(t)
	out, err := e.run()
	if err == nil || !strings.Contains(out, "set POCKETIDP_SOURCE") {
		t.Errorf("no binary and no source: %v\n%s", err, out)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
