package testenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"code.gitea.io/sdk/gitea"
	"github.com/go-git/go-billy/v5/memfs"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/storage/memory"
)

// TestGiteaRepoPush creates repositories through the API and pushes to them
// over HTTP, with the admin's password and with an access token, the two
// ways the product authenticates git pushes.
func TestGiteaRepoPush(t *testing.T) {
	g := SharedGitea(t)
	client, err := gitea.NewClient(g.URL, gitea.SetBasicAuth(g.AdminUser, g.AdminPassword))
	if err != nil {
		t.Fatalf("gitea client: %v", err)
	}
	token, _, err := client.CreateAccessToken(gitea.CreateAccessTokenOption{
		Name:   UniqueName(t), // the Gitea is shared: names must not repeat
		Scopes: []gitea.AccessTokenScope{"write:repository"},
	})
	if err != nil {
		t.Fatalf("create access token: %v", err)
	}

	tests := []struct {
		name string
		auth *githttp.BasicAuth
	}{
		{"password", &githttp.BasicAuth{Username: g.AdminUser, Password: g.AdminPassword}},
		{"token", &githttp.BasicAuth{Username: g.AdminUser, Password: token.Token}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repoName := UniqueName(t)
			repo, _, err := client.CreateRepo(gitea.CreateRepoOption{Name: repoName, DefaultBranch: "main"})
			if err != nil {
				t.Fatalf("create repo: %v", err)
			}
			content := fmt.Sprintf("pushed by %s at %s\n", t.Name(), time.Now().Format(time.RFC3339Nano))
			pushed := pushFile(t, repo.CloneURL, tt.auth, "README.md", content)

			// Gitea records a push in a background queue: its API catches up
			// about a second after the push returns.
			Eventually(t, 30*time.Second, func() error {
				branch, _, err := client.GetRepoBranch(g.AdminUser, repoName, "main")
				if err != nil {
					return fmt.Errorf("get branch main: %w", err)
				}
				if branch.Commit.ID != pushed.String() {
					return fmt.Errorf("main is at %s, pushed %s", branch.Commit.ID, pushed)
				}
				return nil
			})
			got, _, err := client.GetFile(g.AdminUser, repoName, "main", "README.md")
			if err != nil {
				t.Fatalf("read pushed file through the API: %v", err)
			}
			if string(got) != content {
				t.Errorf("README.md through the API = %q, want %q", got, content)
			}
			if cloned := cloneHead(t, repo.CloneURL, tt.auth); cloned != pushed {
				t.Errorf("clone of main is at %s, pushed %s", cloned, pushed)
			}
		})
	}
}

// TestGiteaCredentials makes sure the server really checks passwords, so
// the push tests above prove something.
func TestGiteaCredentials(t *testing.T) {
	g := SharedGitea(t)
	tests := []struct {
		name     string
		password string
		wantErr  bool
	}{
		{"right password", g.AdminPassword, false},
		{"wrong password", "not-" + g.AdminPassword, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// NewClient already calls the API (for the server version).
			client, err := gitea.NewClient(g.URL, gitea.SetBasicAuth(g.AdminUser, tt.password))
			if err == nil {
				var user *gitea.User
				if user, _, err = client.GetMyUserInfo(); err == nil && user.UserName != g.AdminUser {
					t.Errorf("logged in as %q, want %q", user.UserName, g.AdminUser)
				}
			}
			if gotErr := err != nil; gotErr != tt.wantErr {
				t.Errorf("log in with %s: err = %v, want error %v", tt.name, err, tt.wantErr)
			}
		})
	}
}

// TestGiteaRestart stops Gitea, checks it is really down, starts it again
// and checks the data survived: the base of the product's fault tests.
func TestGiteaRestart(t *testing.T) {
	g := Gitea(t)
	client, err := gitea.NewClient(g.URL, gitea.SetBasicAuth(g.AdminUser, g.AdminPassword))
	if err != nil {
		t.Fatalf("gitea client: %v", err)
	}
	repoName := UniqueName(t)
	if _, _, err := client.CreateRepo(gitea.CreateRepoOption{Name: repoName, AutoInit: true}); err != nil {
		t.Fatalf("create repo: %v", err)
	}

	if err := g.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if _, _, err := client.GetRepo(g.AdminUser, repoName); err == nil {
		t.Fatal("Gitea still answers after Stop")
	}

	if err := g.Start(context.Background()); err != nil {
		t.Fatalf("start again: %v", err)
	}
	t.Logf("Gitea restarted in %s", g.ReadyIn.Round(time.Millisecond))
	repo, _, err := client.GetRepo(g.AdminUser, repoName)
	if err != nil {
		t.Fatalf("repo after restart: %v", err)
	}
	if repo.Name != repoName {
		t.Errorf("repo after restart is %q, want %q", repo.Name, repoName)
	}
	if err := g.Start(context.Background()); err == nil {
		t.Error("Start on a running server succeeded")
	}
}

// pushFile commits one file to a new in-memory repository and pushes it to
// url's main branch, returning the commit.
func pushFile(t *testing.T, url string, auth *githttp.BasicAuth, name, content string) plumbing.Hash {
	t.Helper()
	fs := memfs.New()
	r, err := git.InitWithOptions(memory.NewStorage(), fs, git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName("main")})
	if err != nil {
		t.Fatalf("git init: %v", err)
	}
	f, err := fs.Create(name)
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	if _, err := f.Write([]byte(content)); err != nil {
		t.Fatalf("write %s: %v", name, err)
	}
	f.Close()
	wt, err := r.Worktree()
	if err != nil {
		t.Fatalf("worktree: %v", err)
	}
	if _, err := wt.Add(name); err != nil {
		t.Fatalf("git add: %v", err)
	}
	sig := &object.Signature{Name: "testenv", Email: "testenv@pocketidp.test", When: time.Now()}
	hash, err := wt.Commit("add "+name, &git.CommitOptions{Author: sig})
	if err != nil {
		t.Fatalf("git commit: %v", err)
	}
	if _, err := r.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{url}}); err != nil {
		t.Fatalf("git remote: %v", err)
	}
	err = r.Push(&git.PushOptions{
		RemoteName: "origin",
		RefSpecs:   []config.RefSpec{"refs/heads/main:refs/heads/main"},
		Auth:       auth,
	})
	if err != nil {
		t.Fatalf("git push to %s: %v", url, err)
	}
	return hash
}

// cloneHead clones url in memory and returns the commit main points at.
func cloneHead(t *testing.T, url string, auth *githttp.BasicAuth) plumbing.Hash {
	t.Helper()
	r, err := git.Clone(memory.NewStorage(), nil, &git.CloneOptions{URL: url, Auth: auth, ReferenceName: "refs/heads/main"})
	if err != nil {
		t.Fatalf("git clone %s: %v", url, err)
	}
	ref, err := r.Reference(plumbing.NewBranchReferenceName("main"), true)
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		t.Fatalf("clone of %s has no main branch", url)
	}
	if err != nil {
		t.Fatalf("read main: %v", err)
	}
	return ref.Hash()
}

// TestGiteaPortTaken: when another process takes Gitea's port before Gitea
// binds it (CI lost a run to this), StartGitea notices at once, not after
// its two-minute wait, and starts it on another port with the same admin.
func TestGiteaPortTaken(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	takenPort := taken.Addr().(*net.TCPAddr).Port
	var picks int
	g, err := StartGitea(context.Background(), GiteaOptions{
		Binaries:     RequireBinaries(t),
		Dir:          t.TempDir(),
		StartTimeout: time.Minute,
		pickPorts: func(n int) ([]int, error) {
			// The first pick configures, the second starts: both get the
			// taken port, so the start loses it.
			picks++
			if picks <= 2 {
				return []int{takenPort}, nil
			}
			return freePorts(n)
		},
	})
	if err != nil {
		t.Fatalf("start with the first port taken: %v", err)
	}
	defer g.Close()
	if log, _ := os.ReadFile(g.LogPath()); !strings.Contains(string(log), "address already in use") {
		t.Error("Gitea's log does not show the lost port: the test did not test it")
	}
	if strings.HasSuffix(g.URL, fmt.Sprintf(":%d", takenPort)) {
		t.Errorf("Gitea URL %s is the taken port", g.URL)
	}
	client, err := gitea.NewClient(g.URL, gitea.SetBasicAuth(g.AdminUser, g.AdminPassword))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := client.GetMyUserInfo(); err != nil {
		t.Errorf("admin on the new port: %v", err)
	}
}
