package gitea

import (
	"context"
	"net/http"
	"slices"

	sdk "code.gitea.io/sdk/gitea"

	"github.com/pocketidp/pocketidp/internal/secret"
)

// Variables returns the org Actions variables the Backstage workflow reads,
// or nil when Humanitec is skipped.
func (s *Seeder) Variables() map[string]string { return Variables(s.cfg, s.store.InstallID()) }

// Variables are the org Actions variables of an install with cfg: nil when
// Humanitec is skipped.
func Variables(cfg Config, installID string) map[string]string {
	if cfg.HumanitecOrg == "" {
		return nil
	}
	return map[string]string{
		VarCloudProvider: CloudProvider,
		VarHumanitecOrg:  cfg.HumanitecOrg,
		VarHumanitecApp:  BackstageAppID(installID),
	}
}

// tokenFingerprint is salted with the install and the secret's place, so
// the state file does not tell whether two installs share a token.
func (s *Seeder) tokenFingerprint() string {
	return s.cfg.HumanitecToken.Fingerprint(s.store.InstallID() + "/" + s.cfg.Org + "/" + SecretToken)
}

// actionsDiff is what differs between the org's Actions settings and what
// they should be.
type actionsDiff struct {
	create, update []string // variable names
	writeSecret    bool
	secretExists   bool
}

func (d actionsDiff) empty() bool { return len(d.create) == 0 && len(d.update) == 0 && !d.writeSecret }

func (s *Seeder) actionsDiff(c *sdk.Client) (actionsDiff, error) {
	var d actionsDiff
	want := s.Variables()
	if want == nil {
		return d, nil
	}
	org := s.cfg.Org
	have := map[string]string{}
	for page := 1; ; page++ {
		vars, resp, err := c.ListOrgActionVariable(org, sdk.ListOrgActionVariableOption{ListOptions: sdk.ListOptions{Page: page, PageSize: 50}})
		if err != nil {
			return d, s.apiError("list the Actions variables of org "+org, resp, err)
		}
		for _, v := range vars {
			have[v.Name] = v.Data
		}
		if len(vars) < 50 {
			break
		}
	}
	names := make([]string, 0, len(want))
	for name := range want {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		switch v, ok := have[name]; {
		case !ok:
			d.create = append(d.create, name)
		case v != want[name]:
			d.update = append(d.update, name)
		}
	}
	if s.cfg.HumanitecToken.Empty() {
		return d, nil
	}
	for page := 1; ; page++ {
		secrets, resp, err := c.ListOrgActionSecret(org, sdk.ListOrgActionSecretOption{ListOptions: sdk.ListOptions{Page: page, PageSize: 50}})
		if err != nil {
			return d, s.apiError("list the Actions secrets of org "+org, resp, err)
		}
		for _, sec := range secrets {
			if sec.Name == SecretToken {
				d.secretExists = true
			}
		}
		if len(secrets) < 50 {
			break
		}
	}
	// Gitea never returns a secret's value: the fingerprint of what was
	// last written tells whether the token changed since.
	d.writeSecret = !d.secretExists || s.store.Value(KeyTokenFingerprint) != s.tokenFingerprint()
	return d, nil
}

// ActionsConfigDone reports whether the org's Actions variables and secret
// are what they should be.
func (s *Seeder) ActionsConfigDone(ctx context.Context) (bool, error) {
	if s.cfg.HumanitecOrg == "" {
		return false, nil // EnsureActionsConfig says why there is nothing to do
	}
	c, err := s.connect(ctx)
	if err != nil {
		return false, err
	}
	d, err := s.actionsDiff(c)
	return err == nil && d.empty(), err
}

// EnsureActionsConfig writes the org Actions variables that are missing or
// differ, and the HUMANITEC_TOKEN secret when it is missing or the token
// changed. The token is never logged.
func (s *Seeder) EnsureActionsConfig(ctx context.Context) error {
	if s.cfg.HumanitecOrg == "" {
		s.log.Info("Humanitec is skipped: the org gets no Humanitec Actions variables or secret, so the Backstage workflow does not run")
		return nil
	}
	c, err := s.connect(ctx)
	if err != nil {
		return err
	}
	d, err := s.actionsDiff(c)
	if err != nil {
		return err
	}
	org, want := s.cfg.Org, s.Variables()
	for _, name := range d.create {
		if err := s.store.AddObject(KindOrgVariable, org+"/"+name); err != nil {
			return err
		}
		resp, err := c.CreateOrgActionVariable(org, name, sdk.CreateActionVariableOption{Value: want[name]})
		if err != nil {
			if st := statusOf(resp); st >= 400 && st < 500 && st != http.StatusConflict {
				_ = s.store.RemoveObject(KindOrgVariable, org+"/"+name)
			}
			return s.apiError("create Actions variable "+name+" of org "+org, resp, err)
		}
		s.log.Info("org Actions variable created", "org", org, "name", name, "value", want[name])
	}
	for _, name := range d.update {
		resp, err := c.UpdateOrgActionVariable(org, name, sdk.UpdateActionVariableOption{Name: name, Value: want[name]})
		if err != nil {
			return s.apiError("update Actions variable "+name+" of org "+org, resp, err)
		}
		s.log.Info("org Actions variable updated", "org", org, "name", name, "value", want[name])
	}
	if d.writeSecret {
		if !d.secretExists {
			if err := s.store.AddObject(KindOrgSecret, org+"/"+SecretToken); err != nil {
				return err
			}
		}
		resp, err := c.CreateOrgActionSecret(org, SecretToken, sdk.CreateOrUpdateSecretOption{
			Data:        s.cfg.HumanitecToken.Reveal(),
			Description: "Humanitec API token for the Backstage workflow (set by PocketIDP)",
		})
		if err != nil {
			return s.apiError("write Actions secret "+SecretToken+" of org "+org, resp, err)
		}
		if err := s.store.SetValue(KeyTokenFingerprint, s.tokenFingerprint()); err != nil {
			return err
		}
		verb := "updated"
		if !d.secretExists {
			verb = "created"
		}
		s.log.Info("org Actions secret "+verb, "org", org, "name", SecretToken)
	}
	return nil
}

// RemoveActionsConfig deletes the variables and the secret this install
// created (an org this install created goes with them anyway; one it did
// not keeps everything else).
func (s *Seeder) RemoveActionsConfig(ctx context.Context) error {
	org := s.cfg.Org
	var vars []string
	for _, name := range []string{VarCloudProvider, VarHumanitecOrg, VarHumanitecApp} {
		if s.store.HasObject(KindOrgVariable, org+"/"+name) {
			vars = append(vars, name)
		}
	}
	sec := s.store.HasObject(KindOrgSecret, org+"/"+SecretToken)
	if len(vars) == 0 && !sec {
		return nil
	}
	c, err := s.connect(ctx)
	if err != nil {
		return err
	}
	for _, name := range vars {
		resp, err := c.DeleteOrgActionVariable(org, name)
		if err != nil && !isNotFound(resp) {
			return s.apiError("delete Actions variable "+name+" of org "+org, resp, err)
		}
		if err := s.store.RemoveObject(KindOrgVariable, org+"/"+name); err != nil {
			return err
		}
	}
	if sec {
		resp, err := c.DeleteOrgActionSecret(org, SecretToken)
		if err != nil && !isNotFound(resp) {
			return s.apiError("delete Actions secret "+SecretToken+" of org "+org, resp, err)
		}
		if err := s.store.RemoveObject(KindOrgSecret, org+"/"+SecretToken); err != nil {
			return err
		}
		if err := s.store.SetValue(KeyTokenFingerprint, ""); err != nil {
			return err
		}
	}
	s.log.Info("removed the org Actions settings this install created", "org", org, "variables", len(vars), "secret", sec)
	return nil
}

// RunnerRegistered reports whether any Actions runner is registered with
// Gitea: then the runner needs no registration token.
func (s *Seeder) RunnerRegistered(ctx context.Context) (bool, error) {
	c, err := s.connect(ctx)
	if err != nil {
		return false, err
	}
	rs, resp, err := c.ListAdminActionRunners(sdk.ListActionRunnersOptions{ListOptions: sdk.ListOptions{PageSize: 1}})
	if err != nil {
		return false, s.apiError("list the Actions runners", resp, err)
	}
	return rs.TotalCount > 0, nil
}

// RunnerToken returns an instance-wide runner registration token. Gitea
// hands out its current token and makes one only when there is none, so
// asking again returns the same token.
func (s *Seeder) RunnerToken(ctx context.Context) (secret.Value, error) {
	c, err := s.connect(ctx)
	if err != nil {
		return secret.Value{}, err
	}
	t, resp, err := c.CreateAdminActionRunnerRegistrationToken()
	if err != nil {
		return secret.Value{}, s.apiError("get a runner registration token", resp, err)
	}
	s.log.Info("got a runner registration token")
	return secret.New(t.Token), nil
}
