package charts

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pocketidp/pocketidp/internal/testenv"
)

// TestGiteaEnvToIniTakesTheChartsFlags runs the script as the Gitea chart's
// init script does (`environment-to-ini -o "$GITEA_APP_INI"`) against the
// real Gitea binary of the pinned version: GITEA__ variables land in the
// file, what it held stays, and a first run makes it.
func TestGiteaEnvToIniTakesTheChartsFlags(t *testing.T) {
	bins := testenv.RequireBinaries(t)
	dir := t.TempDir()
	script := filepath.Join(dir, "environment-to-ini")
	if err := os.WriteFile(script, []byte(giteaEnvToIni), 0o755); err != nil {
		t.Fatal(err)
	}
	ini := filepath.Join(dir, "conf", "app.ini")
	if err := os.MkdirAll(filepath.Dir(ini), 0o755); err != nil {
		t.Fatal(err)
	}
	run := func(env ...string) {
		t.Helper()
		cmd := exec.Command("sh", script, "-o", ini)
		cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "GITEA_APP_INI=" + ini, "GITEA_WORK_DIR=" + dir,
			"GITEA_CUSTOM=" + dir, "GITEA_BINARY=" + bins.Gitea}, env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("environment-to-ini -o %s: %v\n%s", ini, err, out)
		}
	}
	run("GITEA__server__ROOT_URL=https://git.localhost:8443/", "GITEA__security__INSTALL_LOCK=true")
	run("GITEA__database__DB_TYPE=sqlite3")
	b, err := os.ReadFile(ini)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ROOT_URL = https://git.localhost:8443/", "INSTALL_LOCK = true", "DB_TYPE = sqlite3"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("app.ini lacks %q:\n%s", want, b)
		}
	}
}
