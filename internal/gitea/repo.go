package gitea

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	sdk "code.gitea.io/sdk/gitea"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/pocketidp/pocketidp/internal/config"
)

// fixError is a failure the user can do something about; the engine shows
// Fix next to the message.
type fixError struct {
	err error
	fix string
}

func (e *fixError) Error() string { return e.err.Error() + " (fix: " + e.fix + ")" }
func (e *fixError) Unwrap() error { return e.err }
func (e *fixError) Fix() string   { return e.fix }

// RepoDone reports whether the Backstage repository exists with content and
// the commit it arrived at is recorded.
func (s *Seeder) RepoDone(ctx context.Context) (bool, error) {
	if s.store.Value(KeyBackstageCommit) == "" {
		return false, nil
	}
	c, err := s.connect(ctx)
	if err != nil {
		return false, err
	}
	r, resp, err := c.GetRepo(s.cfg.Org, s.cfg.Repo)
	if isNotFound(resp) {
		return false, nil
	}
	if err != nil {
		return false, s.apiError("read repository "+s.RepoFullName(), resp, err)
	}
	return !r.Mirror && !r.Empty, nil
}

// EnsureBackstageRepo makes the Backstage repository exist: migrated from
// Source (not mirrored), or pushed from OfflineSource when Gitea cannot
// reach Source. The commit it arrived at is recorded. A repository that is
// already there with content is kept as it is.
func (s *Seeder) EnsureBackstageRepo(ctx context.Context) error {
	c, err := s.connect(ctx)
	if err != nil {
		return err
	}
	full := s.RepoFullName()
	ours := s.store.HasObject(KindRepo, full)
	r, resp, err := c.GetRepo(s.cfg.Org, s.cfg.Repo)
	switch {
	case err == nil:
		switch {
		case r.Mirror:
			return &ConflictError{
				Msg:  fmt.Sprintf("repository %s is a pull mirror of %s, but the course needs a repository the learner can edit", full, r.OriginalURL),
				Hint: fmt.Sprintf("delete or rename %s in Gitea, then run up again", full),
			}
		case ours && (r.Empty || s.store.Value(KeyBackstageSource) == ""):
			// The source is recorded when an import has finished: this one
			// was interrupted (or its answer lost), so start it again. The
			// repository holds nothing but what the import brought.
			s.log.Warn("repository of an interrupted import: importing it again", "repo", full)
			if resp, err := c.DeleteRepo(s.cfg.Org, s.cfg.Repo); err != nil && !isNotFound(resp) {
				return s.apiError("delete the repository of the interrupted import "+full, resp, err)
			}
		case r.Empty:
			return &ConflictError{
				Msg:  fmt.Sprintf("repository %s exists but is empty, and this install did not create it", full),
				Hint: fmt.Sprintf("delete %s in Gitea (PocketIDP then migrates Backstage into it), or push the Backstage app into it, then run up again", full),
			}
		default:
			if !ours {
				s.log.Info("repository already exists and was not created by this install: using it as it is; down leaves it in place", "repo", full)
			}
			// An install's own import that finished but whose commit was
			// not recorded yet: set the ref and record it.
			return s.recordArrival(ctx, c, ours)
		}
	case !isNotFound(resp):
		return s.apiError("read repository "+full, resp, err)
	}

	// Recorded before the request, like the org.
	if err := s.store.AddObject(KindRepo, full); err != nil {
		return err
	}
	if err := s.importContent(ctx, c); err != nil {
		return err
	}
	return s.recordArrival(ctx, c, true)
}

// importContent migrates Source into the repository, or pushes
// OfflineSource when the migration fails.
func (s *Seeder) importContent(ctx context.Context, c *sdk.Client) error {
	full := s.RepoFullName()
	s.log.Info("migrating the Backstage repository", "from", s.cfg.Source, "to", full)
	s.progress(0, 0, "migrating "+s.cfg.Source)
	_, resp, err := c.MigrateRepo(sdk.MigrateRepoOption{
		RepoName:    s.cfg.Repo,
		RepoOwner:   s.cfg.Org,
		CloneAddr:   s.cfg.Source,
		Service:     sdk.GitServicePlain,
		Mirror:      false,
		Private:     false,
		Description: "Backstage for the PocketIDP course, migrated from " + s.cfg.Source,
	})
	switch st := statusOf(resp); {
	case err == nil:
		return s.store.SetValue(KeyBackstageSource, "migrated from "+s.cfg.Source)
	case st == http.StatusConflict:
		// Created by an earlier attempt whose answer was lost; the caller
		// reads it back.
		return nil
	case st == http.StatusUnauthorized || st == http.StatusForbidden:
		return s.apiError("migrate "+s.cfg.Source, resp, err)
	case st == 0:
		// No answer from Gitea itself: whether the source is reachable is
		// unknown, and the migration may still be running. The next run
		// looks at what is there.
		return fmt.Errorf("migrate %s into %s: no answer from Gitea: %w", s.cfg.Source, full, err)
	}
	migErr := fmt.Errorf("Gitea could not migrate %s into %s: %w", s.cfg.Source, full, err)
	if s.cfg.OfflineSource == "" {
		return &fixError{err: migErr, fix: "check that Gitea can reach " + s.cfg.Source +
			", or pass a local clone or git bundle of it with --backstage-source (offline)"}
	}
	s.log.Warn("offline fallback: pushing the Backstage content from a local copy instead",
		"could_not_migrate", s.cfg.Source, "because", err.Error(), "local_copy", s.cfg.OfflineSource)
	return s.pushOffline(ctx, c)
}

// pushOffline creates the repository and pushes every branch and tag of
// the local copy into it.
func (s *Seeder) pushOffline(ctx context.Context, c *sdk.Client) error {
	full := s.RepoFullName()
	src, err := openLocalSource(s.cfg.OfflineSource)
	if err != nil {
		return err
	}
	// A failed migration normally rolls its repository back; one cut short
	// by a restart may not have.
	if r, resp, err := c.GetRepo(s.cfg.Org, s.cfg.Repo); err == nil {
		if !r.Empty {
			return fmt.Errorf("repository %s appeared with content while migrating: run up again to use it", full)
		}
		if resp, err := c.DeleteRepo(s.cfg.Org, s.cfg.Repo); err != nil && !isNotFound(resp) {
			return s.apiError("delete the empty repository "+full, resp, err)
		}
	} else if !isNotFound(resp) {
		return s.apiError("read repository "+full, resp, err)
	}
	// Auto-initialised, so that the push updates a branch instead of
	// filling an empty repository: Gitea then touches the repository's
	// updated time only when it has handled the push (see quietPush).
	_, resp, err := c.CreateOrgRepo(s.cfg.Org, sdk.CreateRepoOption{
		Name:          s.cfg.Repo,
		Description:   "Backstage for the PocketIDP course, pushed from a local copy of " + s.cfg.Source,
		DefaultBranch: src.defaultBranch,
		AutoInit:      true,
	})
	if err != nil {
		return s.apiError("create repository "+full, resp, err)
	}
	s.progress(0, 0, "pushing "+src.desc)
	auth := &githttp.BasicAuth{Username: s.cfg.Admin, Password: s.cfg.Password.Reveal()}
	err = s.quietPush(ctx, c, func() error {
		err := src.push(ctx, s.cfg.HTTPClient, s.cfg.URL+"/"+full+".git", auth)
		if errors.Is(err, errPushUnauthorized) {
			return s.badPassword("push to "+full, err)
		}
		if err != nil {
			return fmt.Errorf("push %s into %s: %w", src.desc, full, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.log.Info("pushed the Backstage content from a local copy", "repo", full, "from", src.desc, "refs", len(src.refs))
	return s.store.SetValue(KeyBackstageSource, "pushed from "+src.desc)
}

// quietPush runs push, a git push into the install's repository (an
// offline import, or moving the default branch to Ref), without starting a
// workflow run: the trigger commit makes the first one, once the Actions
// variables are in place. Gitea handles a push in a queue after the push
// has returned and only then asks whether Actions are on, so Actions are
// turned off first and stay off until the trigger step, and quietPush waits
// until the queue has handled the push: the last thing Gitea does for it is
// to set the repository's updated time (whole seconds), so a newer updated
// time than before the push means the push went through the queue.
func (s *Seeder) quietPush(ctx context.Context, c *sdk.Client, push func() error) error {
	full := s.RepoFullName()
	if err := s.setActions(c, false); err != nil {
		return err
	}
	r, resp, err := c.GetRepo(s.cfg.Org, s.cfg.Repo)
	if err != nil {
		return s.apiError("read repository "+full, resp, err)
	}
	before := r.Updated
	// The server's clock must be past the second of `before`, or the
	// push's updated time could equal it. The Date header is that clock.
	if now, err := http.ParseTime(resp.Header.Get("Date")); err == nil && !now.After(before) {
		wait := before.Add(time.Second).Sub(now) + 50*time.Millisecond
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
	if err := push(); err != nil {
		return err
	}
	err = wait.PollUntilContextTimeout(ctx, settlePoll, settleTimeout, true, func(context.Context) (bool, error) {
		r, resp, err := c.GetRepo(s.cfg.Org, s.cfg.Repo)
		if err != nil {
			return false, s.apiError("read repository "+full, resp, err)
		}
		return r.Updated.After(before), nil
	})
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case wait.Interrupted(err):
		s.log.Warn("Gitea has not finished handling the push after a minute: the Actions of the repository stay off until the trigger step", "repo", full)
		return nil
	}
	return err
}

// How often, and how long, the seeding reads a repository until Gitea has
// handled a push (its hooks update the repository a moment after).
const (
	settlePoll    = 100 * time.Millisecond
	settleTimeout = time.Minute
)

func (s *Seeder) setActions(c *sdk.Client, on bool) error {
	if _, resp, err := c.EditRepo(s.cfg.Org, s.cfg.Repo, sdk.EditRepoOption{HasActions: &on}); err != nil {
		return s.apiError(fmt.Sprintf("set Actions of %s to %t", s.RepoFullName(), on), resp, err)
	}
	return nil
}

// settle reads the repository until it has content and its default branch
// answers: Gitea updates both from the push hooks, a moment after a push.
func (s *Seeder) settle(ctx context.Context, c *sdk.Client) (*sdk.Repository, string, error) {
	full := s.RepoFullName()
	var (
		repo *sdk.Repository
		head string
		last error
	)
	err := wait.PollUntilContextTimeout(ctx, settlePoll, settleTimeout, true, func(context.Context) (bool, error) {
		r, resp, err := c.GetRepo(s.cfg.Org, s.cfg.Repo)
		if err != nil {
			return false, s.apiError("read repository "+full, resp, err)
		}
		if r.Empty {
			last = errors.New("the repository is still empty")
			return false, nil
		}
		b, resp, err := c.GetRepoBranch(s.cfg.Org, s.cfg.Repo, r.DefaultBranch)
		if err == nil && b.Commit != nil && b.Commit.ID != "" {
			repo, head = r, b.Commit.ID
			return true, nil
		}
		if err != nil && !isNotFound(resp) {
			return false, s.apiError("read branch "+r.DefaultBranch+" of "+full, resp, err)
		}
		last = fmt.Errorf("default branch %q not found", r.DefaultBranch)
		return false, nil
	})
	switch {
	case err == nil:
		return repo, head, nil
	case ctx.Err() != nil:
		return nil, "", fmt.Errorf("wait for the content of %s: %w", full, ctx.Err())
	case wait.Interrupted(err):
		return nil, "", fmt.Errorf("repository %s has no content a minute after the import: %w", full, last)
	}
	return nil, "", err
}

// recordArrival records the commit the repository arrived at. For an
// import of this install (finish), it first sets the default branch to Ref;
// a repository the user had is never changed.
func (s *Seeder) recordArrival(ctx context.Context, c *sdk.Client, finish bool) error {
	full := s.RepoFullName()
	r, head, err := s.settle(ctx, c)
	if err != nil {
		return err
	}
	commit := head
	if finish {
		if s.cfg.Ref != "" {
			cm, resp, err := c.GetSingleCommit(s.cfg.Org, s.cfg.Repo, s.cfg.Ref)
			if st := statusOf(resp); st == http.StatusNotFound || st == http.StatusUnprocessableEntity {
				return &config.InputError{
					Msg:  fmt.Sprintf("Backstage ref %q is not a branch, tag or commit of %s", s.cfg.Ref, s.cfg.Source),
					Hint: "pass a branch, tag or commit of " + s.cfg.Source + " with --backstage-ref, or leave it out for the default branch",
				}
			}
			if err != nil {
				return s.apiError("resolve "+s.cfg.Ref+" in "+full, resp, err)
			}
			if cm.SHA != head {
				// Moving the branch is a push inside Gitea.
				err := s.quietPush(ctx, c, func() error {
					ok, resp, err := c.UpdateRepoBranchRef(s.cfg.Org, s.cfg.Repo, r.DefaultBranch, sdk.UpdateRepoBranchRefOption{
						NewCommitID: cm.SHA, OldCommitID: head, Force: true,
					})
					if err == nil && !ok {
						err = fmt.Errorf("Gitea answered %d", statusOf(resp))
					}
					if err != nil {
						return s.apiError(fmt.Sprintf("set %s of %s to %s", r.DefaultBranch, full, s.cfg.Ref), resp, err)
					}
					return nil
				})
				if err != nil {
					return err
				}
				s.log.Info("default branch set to the Backstage ref", "repo", full, "branch", r.DefaultBranch, "ref", s.cfg.Ref, "commit", cm.SHA)
			}
			commit = cm.SHA
		}
	}
	if err := s.store.SetValue(KeyBackstageCommit, commit); err != nil {
		return err
	}
	s.log.Info("Backstage repository ready", "repo", full, "branch", r.DefaultBranch, "commit", commit)
	return nil
}

// RemoveBackstageRepo deletes the repository if this install created it.
func (s *Seeder) RemoveBackstageRepo(ctx context.Context) error {
	full := s.RepoFullName()
	if !s.store.HasObject(KindRepo, full) {
		s.log.Info("repository was not created by this install: left in place", "repo", full)
		return nil
	}
	c, err := s.connect(ctx)
	if err != nil {
		return err
	}
	return s.deleteOurRepo(c, full)
}

// deleteOurRepo deletes a repository this install created; 404 is success.
func (s *Seeder) deleteOurRepo(c *sdk.Client, full string) error {
	owner, name, _ := strings.Cut(full, "/")
	resp, err := c.DeleteRepo(owner, name)
	if err != nil && !isNotFound(resp) {
		return s.apiError("delete repository "+full, resp, err)
	}
	s.log.Info("deleted repository", "repo", full)
	if err := s.store.RemoveObject(KindRepo, full); err != nil {
		return err
	}
	if full == s.RepoFullName() {
		for _, k := range []string{KeyBackstageCommit, KeyBackstageSource, KeyTriggerCommit} {
			if err := s.store.SetValue(k, ""); err != nil {
				return err
			}
		}
	}
	return nil
}
