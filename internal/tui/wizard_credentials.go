package tui

import (
	"context"
	"errors"
	"strings"

	tea "charm.land/bubbletea/v2"
	"charm.land/huh/v2"

	"github.com/pocketidp/pocketidp/internal/config"
	"github.com/pocketidp/pocketidp/internal/secret"
)

func (m *wizardModel) toCredentials() (tea.Model, tea.Cmd) {
	if m.opts.SkipHumanitec {
		return m.toSettings(true)
	}
	m.phase = phaseCredentials
	m.v.org = m.opts.HumanitecOrg
	m.v.token = ""
	_, cmd := m.newForm(m.credentialsGroup())
	return m, cmd
}

func (m *wizardModel) credentialsGroup() *huh.Group {
	hasToken := !m.opts.HumanitecToken.Empty()
	tokenDesc := "API token of a service user with the Administrator role."
	if hasToken {
		tokenDesc = "Leave empty to use the token given before (HUMANITEC_TOKEN, or typed here)."
	}
	org := huh.NewInput().Key("org").
		Title(m.inputTitle("Humanitec org id", m.v.org)).
		Description("As in https://app.humanitec.io/orgs/<org-id>").
		Value(&m.v.org).
		Validate(validOrg)
	token := huh.NewInput().Key("token").
		Title("Humanitec API token").
		Description(tokenDesc).
		EchoMode(huh.EchoModePassword).
		Value(&m.v.token).
		Validate(func(s string) error {
			org := strings.TrimSpace(m.v.org)
			switch {
			case strings.TrimSpace(s) == "" && org != "" && !hasToken:
				return errors.New("paste the token, or leave the org empty too to use PocketIDP's local orchestrator")
			case strings.TrimSpace(s) != "" && org == "":
				return errors.New("enter the org id first (shift+tab goes back)")
			}
			return nil
		})
	return huh.NewGroup(org, token).
		Title("Humanitec").
		Description("Leave both empty to use PocketIDP's local orchestrator in the cluster (no account needed).")
}

// validOrg checks the org id with the same rule as the flags.
func validOrg(s string) error {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	o := config.Options{HumanitecOrg: s, HumanitecToken: secret.New("checked-later")}
	return o.CheckHumanitec()
}

// applyCredentials takes the credentials form's values into the options and
// reports whether there is something for the live check to check.
func (m *wizardModel) applyCredentials() (org string, tok secret.Value, check bool) {
	org = strings.TrimSpace(m.v.org)
	tok = secret.New(m.v.token)
	m.redactor.Add(tok)
	if tok.Empty() {
		tok = m.opts.HumanitecToken
	}
	if org == "" {
		// The same rule as --yes without org and token: PocketIDP's local
		// orchestrator (a token given alone is not used).
		m.opts.HumanitecOrg, m.opts.HumanitecToken, m.opts.SkipHumanitec = "", secret.Value{}, false
		return "", secret.Value{}, false
	}
	m.opts.HumanitecOrg, m.opts.HumanitecToken, m.opts.SkipHumanitec = org, tok, false
	return org, tok, m.in.Check != nil
}

func (m *wizardModel) credentialsDone() (tea.Model, tea.Cmd) {
	org, tok, check := m.applyCredentials()
	if !check {
		return m.toSettings(true)
	}
	m.phase, m.form, m.checkErr = phaseChecking, nil, nil
	fn, ctx := m.in.Check, m.ctx
	return m, tea.Batch(m.spin(), func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, checkTimeout)
		defer cancel()
		return checkedMsg{err: fn(ctx, org, tok)}
	})
}

func (m *wizardModel) checked(err error) (tea.Model, tea.Cmd) {
	if m.phase != phaseChecking {
		return m, nil
	}
	if err == nil {
		return m.toSettings(true)
	}
	// Back to the form with the answer above it and the token field
	// focused: the token is what is usually wrong. A token Humanitec did
	// not refuse (no answer) is kept, so enter checks it again.
	m.checkErr = err
	if refused(err) {
		m.opts.HumanitecToken = secret.Value{} // refused, even if it came from HUMANITEC_TOKEN
	}
	m.phase = phaseCredentials
	m.v.token = ""
	_, initCmd := m.newForm(m.credentialsGroup())
	return m, tea.Batch(initCmd, m.form.NextField())
}

// refused reports whether Humanitec answered the check with a no, rather
// than not answering.
func refused(err error) bool { return config.IsInput(err) }

// checkMessage is the live check's answer as the wizard says it, with every
// secret masked.
func (m *wizardModel) checkMessage(err error) string {
	if refused(err) {
		return iconFailed + " Humanitec did not accept these: " + m.redactor.Redact(err.Error())
	}
	return iconFailed + " Could not check them with Humanitec: " + m.redactor.Redact(err.Error()) +
		". The token is kept: press enter to try again, or leave the org empty to use PocketIDP's local orchestrator."
}

// --- settings ---
