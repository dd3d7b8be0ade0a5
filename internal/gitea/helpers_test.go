package gitea

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	sdk "code.gitea.io/sdk/gitea"
	git "github.com/go-git/go-git/v5"
	gitconfig "github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"

	"github.com/pocketidp/pocketidp/internal/report"
	"github.com/pocketidp/pocketidp/internal/secret"
	"github.com/pocketidp/pocketidp/internal/state"
	"github.com/pocketidp/pocketidp/internal/testenv"
)

// recorder is an http.RoundTripper that records every request and can
// inject faults before a request is sent or after its answer arrived.
type recorder struct {
	base http.RoundTripper

	mu   sync.Mutex
	reqs []string
	// before, when it returns an error, fails the request unsent.
	before func(*http.Request) error
	// after, when it returns an error, drops the answer that arrived: the
	// server did the work, the client never learns it.
	after func(*http.Request, *http.Response) error
}

func newRecorder() *recorder { return &recorder{base: http.DefaultTransport} }

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.reqs = append(r.reqs, req.Method+" "+req.URL.Path)
	before, after := r.before, r.after
	r.mu.Unlock()
	if before != nil {
		if err := before(req); err != nil {
			return nil, err
		}
	}
	resp, err := r.base.RoundTrip(req)
	if err != nil || after == nil {
		return resp, err
	}
	if ferr := after(req, resp); ferr != nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return nil, ferr
	}
	return resp, nil
}

func (r *recorder) client() *http.Client { return &http.Client{Transport: r} }

// reset forgets the requests so far and clears the faults.
func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs, r.before, r.after = nil, nil, nil
}

func (r *recorder) setFaults(before func(*http.Request) error, after func(*http.Request, *http.Response) error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.before, r.after = before, after
}

func (r *recorder) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.reqs...)
}

// writes are the requests that may change something: everything but GET
// and HEAD (a git push is a POST to git-receive-pack).
func (r *recorder) writes() []string {
	var w []string
	for _, s := range r.all() {
		if !strings.HasPrefix(s, "GET ") && !strings.HasPrefix(s, "HEAD ") {
			w = append(w, s)
		}
	}
	return w
}

// logBuffer collects log lines from several goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func openStore(t testing.TB) *state.Store {
	t.Helper()
	st, err := state.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func randomHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// uniqueOrg is an org name that fits Gitea's 40 characters, so tests can
// share one Gitea.
func uniqueOrg(t testing.TB) string { return "org-" + randomHex(t, 4) }

func adminClient(t testing.TB, g *testenv.GiteaServer) *sdk.Client {
	t.Helper()
	c, err := sdk.NewClient(g.URL, sdk.SetBasicAuth(g.AdminUser, g.AdminPassword))
	if err != nil {
		t.Fatalf("admin client: %v", err)
	}
	return c
}

// fixture is one test's view of the Gitea: config, state, request log.
type fixture struct {
	g     *testenv.GiteaServer
	admin *sdk.Client
	rec   *recorder
	store *state.Store
	logs  *logBuffer
	cfg   Config
}

func newFixture(t testing.TB, g *testenv.GiteaServer, source string) *fixture {
	t.Helper()
	f := &fixture{g: g, admin: adminClient(t, g), rec: newRecorder(), store: openStore(t), logs: &logBuffer{}}
	f.cfg = Config{
		URL:            g.URL,
		HTTPClient:     f.rec.client(),
		Admin:          g.AdminUser,
		Password:       secret.New(g.AdminPassword),
		Org:            uniqueOrg(t),
		Source:         source,
		HumanitecOrg:   "acme-" + randomHex(t, 2),
		HumanitecToken: secret.New("hum-token-" + randomHex(t, 12)),
		ReadyTimeout:   time.Minute,
	}
	return f
}

func (f *fixture) seeder() *Seeder { return New(f.cfg, f.store) }

// ctx reports into f.logs, as a step's context does into its events.
func (f *fixture) ctx() context.Context { return f.with(context.Background()) }

// with is ctx reporting into f.logs.
func (f *fixture) with(ctx context.Context) context.Context {
	return report.With(ctx, report.Reporter{Log: f.logs.logger()})
}

// upstream is a Backstage stand-in: a repository in the same Gitea with a
// workflow like the real one, two commits on main, a tag v1 on the first
// and a branch release, plus a local clone and a bundle of it.
type upstream struct {
	URL    string
	Clone  string
	Bundle string
	V1     string // commit of tag v1 and branch release
	Head   string // commit of main
	Files  map[string]string
}

const workflow = `name: Deploy Backstage
on:
  push:
    branches: 'main'
jobs:
  deploy:
    name: Build & Notify Humanitec
    runs-on: ubuntu-latest
    if: ${{ vars.CLOUD_PROVIDER }}
    steps:
      - run: echo "deploy to ${{ vars.HUMANITEC_APP_ID }} in ${{ vars.HUMANITEC_ORG_ID }}"
`

func makeUpstream(t testing.TB, g *testenv.GiteaServer) *upstream {
	t.Helper()
	ctx := context.Background()
	admin := adminClient(t, g)
	name := "upstream-" + randomHex(t, 4)
	repo, _, err := admin.CreateRepo(sdk.CreateRepoOption{Name: name, DefaultBranch: "main"})
	if err != nil {
		t.Fatalf("create upstream repo: %v", err)
	}
	// The upstream's own pushes must not queue workflow runs: the tests
	// count the runs of the seeded repository and fetch its jobs.
	off := false
	if _, _, err := admin.EditRepo(g.AdminUser, name, sdk.EditRepoOption{HasActions: &off}); err != nil {
		t.Fatalf("disable Actions of the upstream: %v", err)
	}

	dir := t.TempDir()
	r, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{InitOptions: git.InitOptions{DefaultBranch: plumbing.Main}})
	if err != nil {
		t.Fatal(err)
	}
	wt, err := r.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"README.md":                       "# Backstage\n\nThe course's Backstage app.\n",
		"catalog-info.yaml":               "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: backstage\n",
		".github/workflows/deploy.yaml":   workflow,
		"packages/app/src/index.tsx":      "export {};\n",
		"templates/node-service/tpl.yaml": "kind: Template\n",
	}
	commit := func(msg string) plumbing.Hash {
		for p, content := range files {
			full := filepath.Join(dir, p)
			if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
			t.Fatal(err)
		}
		h, err := wt.Commit(msg, &git.CommitOptions{Author: &object.Signature{Name: "Upstream", Email: "up@example.test", When: time.Now()}})
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	v1 := commit("Backstage app v1")
	if _, err := r.CreateTag("v1", v1, &git.CreateTagOptions{Message: "v1", Tagger: &object.Signature{Name: "Upstream", Email: "up@example.test", When: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	if err := r.Storer.SetReference(plumbing.NewHashReference(plumbing.NewBranchReferenceName("release"), v1)); err != nil {
		t.Fatal(err)
	}
	files["README.md"] += "\nVersion 2.\n"
	head := commit("Backstage app v2")

	auth := &githttp.BasicAuth{Username: g.AdminUser, Password: g.AdminPassword}
	if _, err := r.CreateRemote(&gitconfig.RemoteConfig{Name: "gitea", URLs: []string{repo.CloneURL}}); err != nil {
		t.Fatal(err)
	}
	err = r.PushContext(ctx, &git.PushOptions{RemoteName: "gitea", Auth: auth,
		RefSpecs: []gitconfig.RefSpec{"refs/heads/*:refs/heads/*", "refs/tags/*:refs/tags/*"}})
	if err != nil {
		t.Fatalf("push upstream: %v", err)
	}
	testenv.Eventually(t, 30*time.Second, func() error {
		b, _, err := admin.GetRepoBranch(g.AdminUser, name, "main")
		if err != nil {
			return err
		}
		if b.Commit.ID != head.String() {
			return fmt.Errorf("upstream main at %s, want %s", b.Commit.ID, head)
		}
		return nil
	})

	// A clone as a learner would make it: one local branch, the others
	// under refs/remotes/origin.
	clone := t.TempDir()
	if _, err := git.PlainClone(clone, false, &git.CloneOptions{URL: repo.CloneURL, Auth: auth}); err != nil {
		t.Fatalf("clone upstream: %v", err)
	}
	bundle := filepath.Join(t.TempDir(), "backstage.bundle")
	if out, err := exec.Command("git", "-C", clone, "bundle", "create", bundle, "--all").CombinedOutput(); err != nil {
		t.Fatalf("git bundle create: %v\n%s", err, out)
	}
	return &upstream{URL: repo.CloneURL, Clone: clone, Bundle: bundle, V1: v1.String(), Head: head.String(), Files: files}
}
