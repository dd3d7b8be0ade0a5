package gitea

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"time"

	sdk "code.gitea.io/sdk/gitea"

	"github.com/pocketidp/pocketidp/internal/report"
)

// TriggerPath is the file the trigger commit writes. The Backstage workflow
// runs on every push to main, so any commit starts it; a file of its own
// leaves the course's files alone.
const TriggerPath = ".pocketidp/first-build.txt"

// triggerMarker is a git trailer naming the install, so a trigger commit
// whose answer was lost is found instead of made twice.
func (s *Seeder) triggerMarker() string { return "PocketIDP-Install: " + s.store.InstallID() }

// TriggerDone reports whether this install's trigger commit is recorded and
// still in the repository.
func (s *Seeder) TriggerDone(ctx context.Context) (bool, error) {
	sha := s.store.Value(KeyTriggerCommit)
	if s.cfg.HumanitecOrg == "" || sha == "" {
		return false, nil
	}
	c, err := s.connect(ctx)
	if err != nil {
		return false, err
	}
	_, resp, err := c.GetSingleCommit(s.cfg.Org, s.cfg.Repo, sha)
	if st := statusOf(resp); st == http.StatusNotFound || st == http.StatusUnprocessableEntity {
		return false, nil
	}
	if err != nil {
		return false, s.apiError("read commit "+sha+" of "+s.RepoFullName(), resp, err)
	}
	return true, nil
}

// Trigger turns on the Actions of the install's repository (the import left
// them off), then makes the commit that starts the first Backstage workflow
// run, once per install, and records it.
func (s *Seeder) Trigger(ctx context.Context) error {
	c, err := s.connect(ctx)
	if err != nil {
		return err
	}
	full := s.RepoFullName()
	r, resp, err := c.GetRepo(s.cfg.Org, s.cfg.Repo)
	if err != nil {
		return s.apiError("read repository "+full, resp, err)
	}
	if !r.HasActions && s.store.HasObject(KindRepo, full) {
		if err := s.setActions(c, true); err != nil {
			return err
		}
		report.From(ctx).Logger().Info("Actions turned on", "repo", full)
	}
	if s.cfg.HumanitecOrg == "" {
		report.From(ctx).Logger().Info("Humanitec is skipped: no Backstage build is triggered; Backstage is deployed by the orchestrator, so not in this run")
		return nil
	}
	branch := r.DefaultBranch
	commits, resp, err := c.ListRepoCommits(s.cfg.Org, s.cfg.Repo, sdk.ListCommitOptions{
		ListOptions: sdk.ListOptions{PageSize: 20}, SHA: branch, Path: TriggerPath,
	})
	if err != nil && !isNotFound(resp) {
		return s.apiError("list the commits of "+full, resp, err)
	}
	for _, cm := range commits {
		if cm.RepoCommit != nil && strings.Contains(cm.RepoCommit.Message, s.triggerMarker()) {
			report.From(ctx).Logger().Info("the trigger commit of this install is already there", "repo", full, "commit", cm.SHA)
			return s.store.SetValue(KeyTriggerCommit, cm.SHA)
		}
	}

	content := fmt.Sprintf("PocketIDP install %s made this commit on %s to start the first build of Backstage.\nIt is safe to delete this file.\n",
		s.store.InstallID(), time.Now().UTC().Format(time.RFC3339))
	opts := sdk.FileOptions{
		Message: fmt.Sprintf("Trigger the first Backstage build\n\nThe Deploy Backstage workflow runs on every push to %s: this commit\nstarts it, to build Backstage and deploy it as Humanitec app %s.\n\n%s\n",
			branch, BackstageAppID(s.store.InstallID()), s.triggerMarker()),
		BranchName: branch,
	}
	encoded := base64.StdEncoding.EncodeToString([]byte(content))
	var fr *sdk.FileResponse
	existing, resp, err := c.GetContents(s.cfg.Org, s.cfg.Repo, branch, TriggerPath)
	switch {
	case isNotFound(resp):
		fr, resp, err = c.CreateFile(s.cfg.Org, s.cfg.Repo, TriggerPath, sdk.CreateFileOptions{FileOptions: opts, Content: encoded})
	case err != nil:
		return s.apiError("read "+TriggerPath+" in "+full, resp, err)
	default:
		// Left by an earlier install whose repository this one adopted.
		fr, resp, err = c.UpdateFile(s.cfg.Org, s.cfg.Repo, TriggerPath, sdk.UpdateFileOptions{FileOptions: opts, SHA: existing.SHA, Content: encoded})
	}
	if err != nil {
		return s.apiError("commit "+TriggerPath+" to "+full, resp, err)
	}
	if fr == nil || fr.Commit == nil || fr.Commit.SHA == "" {
		return fmt.Errorf("commit %s to %s: Gitea answered without a commit", TriggerPath, full)
	}
	report.From(ctx).Logger().Info("committed to start the first Backstage build", "repo", full, "branch", branch, "commit", fr.Commit.SHA)
	return s.store.SetValue(KeyTriggerCommit, fr.Commit.SHA)
}
