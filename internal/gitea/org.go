package gitea

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	sdk "code.gitea.io/sdk/gitea"

	"github.com/pocketidp/pocketidp/internal/report"
)

// OrgDone reports whether the org exists and is public.
func (s *Seeder) OrgDone(ctx context.Context) (bool, error) {
	c, err := s.connect(ctx)
	if err != nil {
		return false, err
	}
	org, resp, err := c.GetOrg(s.cfg.Org)
	if isNotFound(resp) {
		return false, nil
	}
	if err != nil {
		return false, s.apiError("read org "+s.cfg.Org, resp, err)
	}
	return org.Visibility == string(sdk.VisibleTypePublic), nil
}

// EnsureOrg makes the org exist and be public. An org that exists already
// is used as it is (and left in place by undo); a user of that name is a
// conflict the user must resolve.
func (s *Seeder) EnsureOrg(ctx context.Context) error {
	c, err := s.connect(ctx)
	if err != nil {
		return err
	}
	name := s.cfg.Org
	ours := s.store.HasObject(KindOrg, name)
	org, resp, err := c.GetOrg(name)
	switch {
	case err == nil:
		if !ours {
			report.From(ctx).Logger().Info("org already exists and was not created by this install: using it; down leaves it in place", "org", name)
		}
		if org.Visibility == string(sdk.VisibleTypePublic) {
			return nil
		}
		if !ours {
			report.From(ctx).Logger().Warn("org is not public and was not created by this install: left as it is", "org", name, "visibility", org.Visibility)
			return nil
		}
		if resp, err := c.EditOrg(name, sdk.EditOrgOption{Visibility: sdk.VisibleTypePublic}); err != nil {
			return s.apiError("make org "+name+" public", resp, err)
		}
		report.From(ctx).Logger().Info("org made public again", "org", name, "was", org.Visibility)
		return nil
	case !isNotFound(resp):
		return s.apiError("read org "+name, resp, err)
	}

	// GET /orgs/{name} answers 404 for a user, and creating the org would
	// fail with a bare "user already exists": say what is in the way.
	u, resp, err := c.GetUserInfo(name)
	if err == nil {
		return &ConflictError{
			Msg: fmt.Sprintf("the name %s is taken by the Gitea user %s (id %d), but the course needs an organization of that name",
				name, u.UserName, u.ID),
			Hint: fmt.Sprintf("rename or delete the Gitea user %s (Site Administration > User Accounts), then run up again", name),
		}
	}
	if !isNotFound(resp) {
		return s.apiError("look up the name "+name, resp, err)
	}

	// Recorded before the request: if Gitea creates the org but the answer
	// is lost, the next run still knows the org is this install's.
	if err := s.store.AddObject(KindOrg, name); err != nil {
		return err
	}
	_, resp, err = c.CreateOrg(sdk.CreateOrgOption{
		Name:                      name,
		FullName:                  name,
		Description:               "The PocketIDP course organization",
		Visibility:                sdk.VisibleTypePublic,
		RepoAdminChangeTeamAccess: true,
	})
	if err != nil {
		if st := statusOf(resp); st >= 400 && st < 500 {
			// Gitea refused: nothing was created, so nothing is ours.
			if rerr := s.store.RemoveObject(KindOrg, name); rerr != nil {
				return rerr
			}
		}
		return s.apiError("create org "+name, resp, err)
	}
	report.From(ctx).Logger().Info("created org", "org", name, "visibility", "public")
	return nil
}

// RemoveOrg deletes the org if this install created it and it holds no
// repository this install did not create; otherwise it says why the org
// stays. A missing org counts as removed.
func (s *Seeder) RemoveOrg(ctx context.Context) error {
	name := s.cfg.Org
	if !s.store.HasObject(KindOrg, name) {
		report.From(ctx).Logger().Info("org was not created by this install: left in place", "org", name)
		return nil
	}
	c, err := s.connect(ctx)
	if err != nil {
		return err
	}
	if _, resp, err := c.GetOrg(name); isNotFound(resp) {
		report.From(ctx).Logger().Info("org already gone", "org", name)
		return s.store.RemoveObject(KindOrg, name)
	} else if err != nil {
		return s.apiError("read org "+name, resp, err)
	}
	var ours, others []string
	for page := 1; ; page++ {
		repos, resp, err := c.ListOrgRepos(name, sdk.ListOrgReposOptions{ListOptions: sdk.ListOptions{Page: page, PageSize: 50}})
		if err != nil {
			return s.apiError("list the repositories of org "+name, resp, err)
		}
		for _, r := range repos {
			if s.store.HasObject(KindRepo, r.FullName) {
				ours = append(ours, r.FullName)
			} else {
				others = append(others, r.FullName)
			}
		}
		if len(repos) < 50 {
			break
		}
	}
	if len(others) > 0 {
		// Deleting the org would delete these with it, and they are the
		// user's work.
		report.From(ctx).Logger().Warn("org holds repositories this install did not create: org and repositories left in place",
			"org", name, "repositories", strings.Join(others, ", "))
		return nil
	}
	// Gitea refuses to delete an org that still owns repositories.
	for _, full := range ours {
		if err := s.deleteOurRepo(ctx, c, full); err != nil {
			return err
		}
	}
	resp, err := c.DeleteOrg(name)
	if err != nil && statusOf(resp) != http.StatusNotFound {
		return s.apiError("delete org "+name, resp, err)
	}
	report.From(ctx).Logger().Info("deleted org", "org", name)
	return s.store.RemoveObject(KindOrg, name)
}
