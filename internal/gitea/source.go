package gitea

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/capability"
	"github.com/go-git/go-git/v5/plumbing/revlist"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/storage"
	"github.com/go-git/go-git/v5/storage/memory"

	"github.com/pocketidp/pocketidp/internal/config"
)

// localSource is the offline copy of the Backstage repository: a clone on
// disk or a git bundle, read into go-git storage.
type localSource struct {
	storer storage.Storer
	// refs are the branches and tags to push, named as they go to Gitea.
	refs          map[plumbing.ReferenceName]plumbing.Hash
	defaultBranch string
	desc          string
}

var errPushUnauthorized = errors.New("Gitea refused the credentials")

const sourceHint = "pass --backstage-source a local clone (git clone <url> <dir>) or a full bundle (git bundle create backstage.bundle --all, in a clone) of the Backstage repository"

// openLocalSource opens a clone (a folder) or a git bundle (a file).
func openLocalSource(path string) (*localSource, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, &config.InputError{Msg: fmt.Sprintf("offline Backstage source: %v", err), Hint: sourceHint}
	}
	if fi.IsDir() {
		return openClone(path)
	}
	return openBundle(path)
}

func openClone(dir string) (*localSource, error) {
	repo, err := git.PlainOpenWithOptions(dir, &git.PlainOpenOptions{EnableDotGitCommonDir: true})
	if err != nil {
		return nil, &config.InputError{Msg: fmt.Sprintf("offline Backstage source %s is not a git repository: %v", dir, err), Hint: sourceHint}
	}
	iter, err := repo.References()
	if err != nil {
		return nil, fmt.Errorf("read the refs of %s: %w", dir, err)
	}
	all := map[plumbing.ReferenceName]plumbing.Hash{}
	err = iter.ForEach(func(r *plumbing.Reference) error {
		if r.Type() == plumbing.HashReference {
			all[r.Name()] = r.Hash()
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the refs of %s: %w", dir, err)
	}
	head := ""
	if r, err := repo.Storer.Reference(plumbing.HEAD); err == nil && r.Type() == plumbing.SymbolicReference && r.Target().IsBranch() {
		head = r.Target().Short()
	}
	return newLocalSource(repo.Storer, all, head, plumbing.ZeroHash, "clone "+dir)
}

// openBundle reads a git bundle (format v2 or v3, SHA-1): a header of refs
// followed by a packfile. go-git has no bundle reader, but it parses the
// packfile; the header is a few text lines.
func openBundle(path string) (*localSource, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &config.InputError{Msg: fmt.Sprintf("offline Backstage source: %v", err), Hint: sourceHint}
	}
	defer f.Close()
	br := bufio.NewReader(f)
	bad := func(format string, args ...any) error {
		return &config.InputError{Msg: fmt.Sprintf("offline Backstage source %s: ", path) + fmt.Sprintf(format, args...), Hint: sourceHint}
	}
	sig, err := br.ReadString('\n')
	if err != nil || (sig != "# v2 git bundle\n" && sig != "# v3 git bundle\n") {
		return nil, bad("not a folder and not a git bundle")
	}
	all := map[plumbing.ReferenceName]plumbing.Hash{}
	headHash := plumbing.ZeroHash
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return nil, bad("truncated bundle header: %v", err)
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
		case strings.HasPrefix(line, "@"):
			if line == "@object-format=sha1" {
				continue
			}
			return nil, bad("bundle capability %q is not supported (only full SHA-1 bundles are)", line)
		case strings.HasPrefix(line, "-"):
			return nil, bad("the bundle is incremental (it needs commit %s); make a full one", strings.Fields(line[1:])[0])
		default:
			hash, name, ok := strings.Cut(line, " ")
			if !ok || !plumbing.IsHash(hash) {
				return nil, bad("malformed bundle header line %q", line)
			}
			if name == "HEAD" {
				headHash = plumbing.NewHash(hash)
			} else {
				all[plumbing.ReferenceName(name)] = plumbing.NewHash(hash)
			}
			continue
		}
		break // the blank line ends the header
	}
	st := memory.NewStorage()
	if err := packfile.UpdateObjectStorage(st, br); err != nil {
		return nil, bad("read the bundle's packfile: %v", err)
	}
	for name, h := range all {
		if _, err := st.EncodedObject(plumbing.AnyObject, h); err != nil {
			return nil, bad("ref %s points at %s, which the bundle does not hold", name, h)
		}
	}
	return newLocalSource(st, all, "", headHash, "bundle "+path)
}

// newLocalSource picks what to push: local branches and tags, plus the
// origin's branches that have no local branch (a fresh clone has only one
// local branch, a migration would copy them all). The default branch is
// HEAD's branch, else main, else master, else the first.
func newLocalSource(st storage.Storer, all map[plumbing.ReferenceName]plumbing.Hash, head string, headHash plumbing.Hash, desc string) (*localSource, error) {
	refs := map[plumbing.ReferenceName]plumbing.Hash{}
	for name, h := range all {
		if name.IsBranch() || name.IsTag() {
			refs[name] = h
		}
	}
	for name, h := range all {
		if short, ok := strings.CutPrefix(name.String(), "refs/remotes/origin/"); ok && short != "HEAD" {
			b := plumbing.NewBranchReferenceName(short)
			if _, local := refs[b]; !local {
				refs[b] = h
			}
		}
	}
	var branches []string
	for name := range refs {
		if name.IsBranch() {
			branches = append(branches, name.Short())
		}
	}
	if len(branches) == 0 {
		return nil, &config.InputError{Msg: fmt.Sprintf("offline Backstage source %s has no branch", desc), Hint: sourceHint}
	}
	slices.Sort(branches)
	def := ""
	if head != "" && slices.Contains(branches, head) {
		def = head
	}
	if def == "" && !headHash.IsZero() {
		for _, b := range append([]string{"main", "master"}, branches...) {
			if refs[plumbing.NewBranchReferenceName(b)] == headHash {
				def = b
				break
			}
		}
	}
	for _, b := range append([]string{"main", "master"}, branches[0]) {
		if def == "" && slices.Contains(branches, b) {
			def = b
		}
	}
	return &localSource{storer: st, refs: refs, defaultBranch: def, desc: desc}, nil
}

// push sends every ref of the source to url over hc, the way `git push`
// does (advertised refs, then one packfile with the missing objects). It
// does not go through go-git's Remote because that picks its HTTP client
// from a process-wide registry; this uses the client it is given.
func (src *localSource) push(ctx context.Context, hc *http.Client, url string, auth transport.AuthMethod) (err error) {
	ep, err := transport.NewEndpoint(url)
	if err != nil {
		return err
	}
	sess, err := githttp.NewClient(hc).NewReceivePackSession(ep, auth)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := sess.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	ar, err := sess.AdvertisedReferencesContext(ctx)
	if errors.Is(err, transport.ErrAuthenticationRequired) || errors.Is(err, transport.ErrAuthorizationFailed) {
		return fmt.Errorf("%w: %w", errPushUnauthorized, err)
	}
	if err != nil {
		return err
	}
	remote, err := ar.AllReferences()
	if err != nil {
		return err
	}
	req := packp.NewReferenceUpdateRequestFromCapabilities(ar.Capabilities)
	names := make([]plumbing.ReferenceName, 0, len(src.refs))
	for name := range src.refs {
		names = append(names, name)
	}
	slices.Sort(names)
	var wants []plumbing.Hash
	for _, name := range names {
		h := src.refs[name]
		old := plumbing.ZeroHash
		if r, err := remote.Reference(name); err == nil {
			old = r.Hash()
		}
		if old == h {
			continue
		}
		req.Commands = append(req.Commands, &packp.Command{Name: name, Old: old, New: h})
		wants = append(wants, h)
	}
	if len(req.Commands) == 0 {
		return nil
	}
	hashes, err := revlist.Objects(src.storer, wants, nil)
	if err != nil {
		return fmt.Errorf("list the objects to push: %w", err)
	}
	rd, wr := io.Pipe()
	req.Packfile = rd
	encoded := make(chan error, 1)
	go func() {
		_, err := packfile.NewEncoder(wr, src.storer, !ar.Capabilities.Supports(capability.OFSDelta)).Encode(hashes, 10)
		_ = wr.CloseWithError(err) // always nil; err reaches the reader
		encoded <- err
	}()
	rs, err := sess.ReceivePack(ctx, req)
	if err != nil {
		_ = rd.CloseWithError(err) // unblock the encoder
		<-encoded
		return err
	}
	if err := <-encoded; err != nil {
		return fmt.Errorf("encode the packfile: %w", err)
	}
	if rs != nil {
		return rs.Error()
	}
	return nil
}
