package gitea

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/storage/memory"

	"github.com/pocketidp/pocketidp/internal/config"
)

func TestOpenBundleRejects(t *testing.T) {
	sha := strings.Repeat("a", 40)
	tests := []struct {
		name    string
		content string
		want    string
	}{
		{"not a bundle", "PK\x03\x04zip", "not a folder and not a git bundle"},
		{"empty file", "", "not a folder and not a git bundle"},
		{"incremental", "# v2 git bundle\n-" + sha + " base\n" + sha + " refs/heads/main\n\n", "incremental"},
		{"sha256", "# v3 git bundle\n@object-format=sha256\n\n", "not supported"},
		{"partial", "# v3 git bundle\n@filter=blob:none\n\n", "not supported"},
		{"malformed ref line", "# v2 git bundle\nzzz refs/heads/main\n\n", "malformed"},
		{"truncated header", "# v2 git bundle\n" + sha + " refs/heads/main\n", "truncated"},
		{"broken packfile", "# v2 git bundle\n" + sha + " refs/heads/main\n\nPACKgarbage", "packfile"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "b.bundle")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := openLocalSource(path)
			var ie *config.InputError
			if !errors.As(err, &ie) || !strings.Contains(ie.Msg, tt.want) || !strings.Contains(ie.Msg, path) || ie.Fix() == "" {
				t.Fatalf("openLocalSource = %v, want an input error naming the file and %q", err, tt.want)
			}
		})
	}
	t.Run("missing path", func(t *testing.T) {
		_, err := openLocalSource(filepath.Join(t.TempDir(), "nothing"))
		if !config.IsInput(err) {
			t.Fatalf("openLocalSource = %v, want an input error", err)
		}
	})
}

func TestNewLocalSource(t *testing.T) {
	h := func(c byte) plumbing.Hash { return plumbing.NewHash(strings.Repeat(string(c), 40)) }
	tests := []struct {
		name     string
		all      map[string]plumbing.Hash
		head     string
		headHash plumbing.Hash
		wantDef  string
		wantRefs map[string]plumbing.Hash
		wantErr  bool
	}{
		{
			name:    "HEAD's branch",
			all:     map[string]plumbing.Hash{"refs/heads/main": h('1'), "refs/heads/dev": h('2')},
			head:    "dev",
			wantDef: "dev",
		},
		{
			name:     "bundle HEAD hash shared by two branches prefers main",
			all:      map[string]plumbing.Hash{"refs/heads/release": h('1'), "refs/heads/main": h('1')},
			headHash: h('1'),
			wantDef:  "main",
		},
		{
			name:     "bundle HEAD hash names the branch",
			all:      map[string]plumbing.Hash{"refs/heads/main": h('1'), "refs/heads/trunk": h('2')},
			headHash: h('2'),
			wantDef:  "trunk",
		},
		{
			name:    "no HEAD: master before others",
			all:     map[string]plumbing.Hash{"refs/heads/feature": h('1'), "refs/heads/master": h('2')},
			wantDef: "master",
		},
		{
			name:    "no HEAD, no main or master: first by name",
			all:     map[string]plumbing.Hash{"refs/heads/b": h('1'), "refs/heads/a": h('2')},
			wantDef: "a",
		},
		{
			name: "clone: origin's branches fill in, local ones win, origin/HEAD and notes are left out",
			all: map[string]plumbing.Hash{
				"refs/heads/main":          h('1'),
				"refs/remotes/origin/main": h('9'),
				"refs/remotes/origin/rel":  h('2'),
				"refs/remotes/origin/HEAD": h('1'),
				"refs/remotes/fork/other":  h('3'),
				"refs/tags/v1":             h('4'),
				"refs/notes/commits":       h('5'),
			},
			head:    "main",
			wantDef: "main",
			wantRefs: map[string]plumbing.Hash{
				"refs/heads/main": h('1'), "refs/heads/rel": h('2'), "refs/tags/v1": h('4'),
			},
		},
		{
			name:    "only tags",
			all:     map[string]plumbing.Hash{"refs/tags/v1": h('1')},
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			all := map[plumbing.ReferenceName]plumbing.Hash{}
			for k, v := range tt.all {
				all[plumbing.ReferenceName(k)] = v
			}
			src, err := newLocalSource(memory.NewStorage(), all, tt.head, tt.headHash, "test")
			if tt.wantErr {
				if !config.IsInput(err) {
					t.Fatalf("newLocalSource = %v, want an input error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if src.defaultBranch != tt.wantDef {
				t.Errorf("default branch = %q, want %q", src.defaultBranch, tt.wantDef)
			}
			if tt.wantRefs != nil {
				got := map[string]plumbing.Hash{}
				for k, v := range src.refs {
					got[k.String()] = v
				}
				if !maps.Equal(got, tt.wantRefs) {
					t.Errorf("refs = %v, want %v", got, tt.wantRefs)
				}
			}
		})
	}
}
