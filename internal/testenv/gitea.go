package testenv

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Gitea's admin account, created by the helper. The product's own default
// admin has the same name, so tests exercise the real credentials.
const (
	GiteaAdminUser     = "5minadmin"
	GiteaAdminPassword = "5minadmin"
	GiteaAdminEmail    = "5minadmin@pocketidp.test"
)

// GiteaOptions configures StartGitea. The zero value is ready to use.
type GiteaOptions struct {
	// Binaries to run; zero means LoadBinaries.
	Binaries Binaries
	// Dir holds app.ini, the database, repositories and gitea.log. Empty
	// means a new temporary folder, removed by Close.
	Dir string
	// StartTimeout bounds each wait for /api/v1/version; zero means 2 minutes
	// (a cold start takes ~5 s on an idle machine, much longer on a busy one).
	StartTimeout time.Duration

	// pickPorts stands in for freePorts in tests that make the first port
	// taken.
	pickPorts func(n int) ([]int, error)
}

// GiteaServer is a running (or stopped, for fault tests) Gitea on loopback.
type GiteaServer struct {
	URL           string // http://127.0.0.1:<port>, no trailing slash
	AdminUser     string
	AdminPassword string
	AdminEmail    string
	Dir           string
	// ReadyIn is how long the last (re)start took until the API answered;
	// after StartGitea it includes SetupIn, the time spent generating
	// secrets, migrating the database and creating the admin.
	ReadyIn time.Duration
	SetupIn time.Duration

	bin       Binaries
	port      int
	secrets   map[string]string // app.ini's, kept to rewrite it for a new port
	pickPorts func(n int) ([]int, error)
	timeout   time.Duration
	ownsDir   bool

	mu   sync.Mutex
	proc *process
}

// Gitea starts a Gitea with a fresh data folder for the test and stops it in
// t.Cleanup. It skips or fails the test as RequireBinaries does when the
// binaries are missing.
func Gitea(t testing.TB) *GiteaServer {
	t.Helper()
	bin := RequireBinaries(t)
	g, err := StartGitea(context.Background(), GiteaOptions{Binaries: bin, Dir: t.TempDir()})
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(func() {
		if err := g.Close(); err != nil {
			t.Errorf("testenv: %v", err)
		}
	})
	g.logTimes(t)
	return g
}

func (g *GiteaServer) logTimes(t testing.TB) {
	t.Helper()
	t.Logf("testenv: Gitea %s ready in %s (setup %s)", g.URL,
		g.ReadyIn.Round(time.Millisecond), g.SetupIn.Round(time.Millisecond))
}

// StartGitea configures a new Gitea (app.ini, database, admin user) and
// starts it. Stop and Start restart it on the same port with the same data;
// Close stops it for good.
func StartGitea(ctx context.Context, opts GiteaOptions) (_ *GiteaServer, err error) {
	bin := opts.Binaries
	if bin.Gitea == "" {
		if bin, err = LoadBinaries(); err != nil {
			return nil, fmt.Errorf("start gitea: %w", err)
		}
	}
	g := &GiteaServer{
		AdminUser:     GiteaAdminUser,
		AdminPassword: GiteaAdminPassword,
		AdminEmail:    GiteaAdminEmail,
		Dir:           opts.Dir,
		bin:           bin,
		timeout:       opts.StartTimeout,
		pickPorts:     opts.pickPorts,
	}
	if g.pickPorts == nil {
		g.pickPorts = freePorts
	}
	if g.timeout == 0 {
		g.timeout = 2 * time.Minute
	}
	if g.Dir == "" {
		if g.Dir, err = os.MkdirTemp("", "testenv-gitea-"); err != nil {
			return nil, fmt.Errorf("start gitea: %w", err)
		}
		g.ownsDir = true
	}
	defer func() {
		if err != nil {
			g.Close()
		}
	}()
	if err := g.pickPort(); err != nil {
		return nil, fmt.Errorf("start gitea: %w", err)
	}

	began := time.Now()
	if err := g.configure(ctx); err != nil {
		return nil, fmt.Errorf("start gitea: %w", err)
	}
	g.SetupIn = time.Since(began)
	// The port is picked again right before the start: configuring takes
	// seconds, a long time for a port to stay free. Only app.ini names it;
	// the database and the admin stay.
	err = onFreePorts(func() error {
		if err := g.pickPort(); err != nil {
			return fmt.Errorf("start gitea: %w", err)
		}
		if err := g.writeConfig(); err != nil {
			return fmt.Errorf("start gitea: %w", err)
		}
		return g.Start(ctx)
	})
	if err != nil {
		return nil, err
	}
	// Report the whole cold start, configuration included: that is what a
	// test pays.
	g.ReadyIn = time.Since(began)
	return g, nil
}

func (g *GiteaServer) pickPort() error {
	ports, err := g.pickPorts(1)
	if err != nil {
		return err
	}
	g.port = ports[0]
	g.URL = "http://" + loopbackAddr(g.port)
	return nil
}

// configure writes app.ini, creates the database and the admin user.
func (g *GiteaServer) configure(ctx context.Context) error {
	secrets, err := g.generateSecrets(ctx)
	if err != nil {
		return err
	}
	g.secrets = secrets
	if err := g.writeConfig(); err != nil {
		return err
	}
	if _, err := g.run(ctx, "migrate"); err != nil {
		return fmt.Errorf("migrate database: %w", err)
	}
	if _, err := g.run(ctx, "admin", "user", "create", "--admin",
		"--username", g.AdminUser, "--password", g.AdminPassword, "--email", g.AdminEmail,
		"--must-change-password=false"); err != nil {
		return fmt.Errorf("create admin user: %w", err)
	}
	return nil
}

// writeConfig writes app.ini for the server's port and secrets.
func (g *GiteaServer) writeConfig() error {
	if err := os.MkdirAll(filepath.Join(g.Dir, "custom", "conf"), 0o755); err != nil {
		return fmt.Errorf("create config folder: %w", err)
	}
	ini := giteaAppIni(g.Dir, g.port, g.URL, g.bin.GiteaStaticRoot, g.secrets)
	if err := os.WriteFile(g.configPath(), []byte(ini), 0o600); err != nil {
		return fmt.Errorf("write app.ini: %w", err)
	}
	return nil
}

// generateSecrets has Gitea make its own secrets, so they always have the
// format this Gitea version expects. The four runs are independent and each
// pays Gitea's start-up, so they run concurrently.
func (g *GiteaServer) generateSecrets(ctx context.Context) (map[string]string, error) {
	names := []string{"SECRET_KEY", "INTERNAL_TOKEN", "JWT_SECRET", "LFS_JWT_SECRET"}
	values := make([]string, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() {
			out, err := runCommand(ctx, giteaEnv(g.Dir), g.bin.Gitea, "generate", "secret", name)
			values[i], errs[i] = strings.TrimSpace(out), err
		})
	}
	wg.Wait()
	secrets := map[string]string{}
	for i, name := range names {
		if errs[i] != nil {
			return nil, fmt.Errorf("generate %s: %w", name, errs[i])
		}
		secrets[name] = values[i]
	}
	return secrets, nil
}

// Start starts a stopped server again on its port with its data. It waits
// until the API answers and records the time in ReadyIn.
func (g *GiteaServer) Start(ctx context.Context) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.proc != nil && !g.proc.exited() {
		return fmt.Errorf("start gitea: already running")
	}
	began := time.Now()
	args := append(g.globalArgs(), "web")
	p, err := startProcess("gitea", g.LogPath(), giteaEnv(g.Dir), g.bin.Gitea, args...)
	if err != nil {
		return err
	}
	g.proc = p
	check := httpCheck(http.DefaultClient, g.URL+"/api/v1/version", nil)
	if err := waitReady(ctx, p, g.timeout, check); err != nil {
		_ = p.stop(5 * time.Second)
		return fmt.Errorf("start gitea: %w", err)
	}
	g.ReadyIn = time.Since(began)
	return nil
}

// Stop stops the server and keeps its data, so Start can bring it back: the
// way to test how the product copes with Gitea going away.
func (g *GiteaServer) Stop() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	// Kubernetes' default grace: Gitea finishes the queue items it is
	// handling, such as making a workflow run from a push, before it exits.
	// A busy test machine needs it: killed mid-item, Gitea may drop the item.
	if err := g.proc.stop(30 * time.Second); err != nil {
		return fmt.Errorf("stop gitea: %w", err)
	}
	return nil
}

// Restart stops and starts the server.
func (g *GiteaServer) Restart(ctx context.Context) error {
	if err := g.Stop(); err != nil {
		return err
	}
	return g.Start(ctx)
}

// Close stops the server and removes its folder if StartGitea created it.
func (g *GiteaServer) Close() error {
	err := g.Stop()
	if g.ownsDir {
		if rmErr := os.RemoveAll(g.Dir); rmErr != nil && err == nil {
			err = fmt.Errorf("remove gitea folder: %w", rmErr)
		}
	}
	return err
}

// LogPath is the file Gitea's output goes to, across restarts.
func (g *GiteaServer) LogPath() string { return filepath.Join(g.Dir, "gitea.log") }

// LogTail returns the last n lines of Gitea's log, for failure messages.
func (g *GiteaServer) LogTail(n int) string { return tailFile(g.LogPath(), n) }

func (g *GiteaServer) configPath() string {
	return filepath.Join(g.Dir, "custom", "conf", "app.ini")
}

// globalArgs point every gitea command at this server's folder and config,
// so nothing is read from the binary's folder or the user's environment.
func (g *GiteaServer) globalArgs() []string {
	return []string{"--work-path", g.Dir, "--custom-path", filepath.Join(g.Dir, "custom"), "--config", g.configPath()}
}

func (g *GiteaServer) run(ctx context.Context, args ...string) (string, error) {
	return runCommand(ctx, giteaEnv(g.Dir), g.bin.Gitea, append(g.globalArgs(), args...)...)
}

func giteaEnv(dir string) []string {
	return []string{
		// Test machines and CI containers often run as root, which Gitea
		// refuses unless told otherwise.
		"GITEA_I_AM_BEING_UNSAFE_RUNNING_AS_ROOT=true",
		"GITEA_WORK_DIR=" + dir,
		"GITEA_CUSTOM=" + filepath.Join(dir, "custom"),
	}
}
