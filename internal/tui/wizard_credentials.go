package tui

import (
	"errors"
	"strings"

	tea "charm.land/bubbletea/v2"
	"charm.land/huh/v2"

	"github.com/pocketidp/pocketidp/internal/config"
	"github.com/pocketidp/pocketidp/internal/secret"
)

// credentialsPage asks for the Humanitec org and token, with the last live
// check's failure above them. It reports a credentialsReport.
type credentialsPage struct {
	env        *wizardEnv
	opts       config.Options
	org, token string
	// checkErr is the last live check's failure, shown above the form.
	checkErr error
	// focusToken starts on the token field: after a failed check the
	// token is what is usually wrong.
	focusToken bool
	formPage
}

func newCredentialsPage(env *wizardEnv, o config.Options, checkErr error) *credentialsPage {
	p := &credentialsPage{env: env, opts: o, org: o.HumanitecOrg, checkErr: checkErr}
	p.formPage = newFormPage(p.group())
	return p
}

func (p *credentialsPage) Init() tea.Cmd {
	cmd := p.form.Init()
	if p.focusToken {
		return tea.Batch(cmd, p.form.NextField())
	}
	return cmd
}

func (p *credentialsPage) Update(msg tea.Msg) (tea.Cmd, report) {
	cmd, st := p.update(msg, p.body)
	switch st {
	case huh.StateCompleted:
		return nil, p.apply()
	case huh.StateAborted:
		return nil, abortReport{}
	}
	return cmd, nil
}

func (p *credentialsPage) View() pageView {
	return pageView{step: 1, body: p.body(), form: p.form.View()}
}

func (p *credentialsPage) body() string {
	if p.checkErr == nil {
		return ""
	}
	return badStyle.Width(cardWidth(p.width)).Render(checkMessage(p.env.redactor, p.checkErr)) + "\n"
}

func (p *credentialsPage) group() *huh.Group {
	hasToken := !p.opts.HumanitecToken.Empty()
	tokenDesc := "API token of a service user with the Administrator role."
	if hasToken {
		tokenDesc = "Leave empty to use the token given before (HUMANITEC_TOKEN, or typed here)."
	}
	org := huh.NewInput().Key("org").
		Title(p.env.inputTitle("Humanitec org id", p.org)).
		Description("As in https://app.humanitec.io/orgs/<org-id>").
		Value(&p.org).
		Validate(validOrg)
	token := huh.NewInput().Key("token").
		Title("Humanitec API token").
		Description(tokenDesc).
		EchoMode(huh.EchoModePassword).
		Value(&p.token).
		Validate(func(s string) error {
			org := strings.TrimSpace(p.org)
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

// apply takes the form's values into the options; check says whether
// there is something for the live check to check.
func (p *credentialsPage) apply() credentialsReport {
	o := p.opts
	org := strings.TrimSpace(p.org)
	tok := secret.New(p.token)
	p.env.redactor.Add(tok)
	if tok.Empty() {
		tok = o.HumanitecToken
	}
	if org == "" {
		// The same rule as --yes without org and token: PocketIDP's local
		// orchestrator (a token given alone is not used).
		o.HumanitecOrg, o.HumanitecToken, o.SkipHumanitec = "", secret.Value{}, false
		return credentialsReport{opts: o}
	}
	o.HumanitecOrg, o.HumanitecToken, o.SkipHumanitec = org, tok, false
	return credentialsReport{opts: o, check: p.env.in.Check != nil}
}

// refused reports whether Humanitec answered the check with a no, rather
// than not answering.
func refused(err error) bool { return config.IsInput(err) }

// checkMessage is the live check's answer as the wizard says it, with every
// secret masked.
func checkMessage(r *secret.Redactor, err error) string {
	if refused(err) {
		return iconFailed + " Humanitec did not accept these: " + r.Redact(err.Error())
	}
	return iconFailed + " Could not check them with Humanitec: " + r.Redact(err.Error()) +
		". The token is kept: press enter to try again, or leave the org empty to use PocketIDP's local orchestrator."
}
