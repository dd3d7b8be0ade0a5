package tui

import (
	"fmt"
	"strconv"

	tea "charm.land/bubbletea/v2"
	"charm.land/huh/v2"

	"github.com/pocketidp/pocketidp/internal/config"
)

// settingsEditPage asks for each setting, with the reason the last ones
// were not valid above them. It reports a settingsReport.
type settingsEditPage struct {
	env  *wizardEnv
	opts config.Options
	v    settingsValues
	// err is why the settings chosen last were not valid.
	err error
	formPage
}

func newSettingsEditPage(env *wizardEnv, o config.Options, err error) *settingsEditPage {
	p := &settingsEditPage{env: env, opts: o, v: loadSettings(o), err: err}
	p.formPage = newFormPage(p.groups()...)
	return p
}

func (p *settingsEditPage) Init() tea.Cmd { return p.form.Init() }

func (p *settingsEditPage) Update(msg tea.Msg) (tea.Cmd, report) {
	cmd, st := p.update(msg, p.body)
	switch st {
	case huh.StateCompleted:
		return nil, p.v.apply(p.opts)
	case huh.StateAborted:
		return nil, abortReport{}
	}
	return cmd, nil
}

func (p *settingsEditPage) View() pageView {
	return pageView{step: 2, body: p.body(), form: p.form.View()}
}

func (p *settingsEditPage) body() string {
	if p.err == nil {
		return ""
	}
	return badStyle.Width(cardWidth(p.width)).Render(iconFailed+" "+p.env.redactor.Redact(p.err.Error())) + "\n"
}

func (p *settingsEditPage) groups() []*huh.Group {
	v, e := &p.v, p.env
	cluster := huh.NewGroup(
		huh.NewInput().Key("name").Title(e.inputTitle("Cluster name", v.name)).Value(&v.name).
			Validate(validField(func(o *config.Options, s string) error { o.Name = s; return nil })),
		huh.NewInput().Key("port").Title(e.inputTitle("HTTPS port", v.port)).Description("URLs become https://<name>.localhost:<port>").Value(&v.port).
			Validate(validField(func(o *config.Options, s string) error {
				p, err := strconv.Atoi(s)
				if err != nil {
					return fmt.Errorf("port %q is not a number", s)
				}
				o.Port = p
				return nil
			})),
		huh.NewInput().Key("listen").Title(e.inputTitle("Listen address", v.listen)).Description("127.0.0.1 keeps it on this machine, 0.0.0.0 opens it to the network").Value(&v.listen).
			Validate(validField(func(o *config.Options, s string) error { o.ListenAddress = s; return nil })),
		huh.NewInput().Key("kubeconfig").Title(e.inputTitle("Existing cluster: kubeconfig", v.kubeconfig)).Description("Empty creates a kind cluster").Value(&v.kubeconfig),
		huh.NewInput().Key("context").Title(e.inputTitle("Existing cluster: context", v.kubeCtx)).Value(&v.kubeCtx),
	).Title("Cluster")
	var fields []huh.Field
	if !p.opts.Coder {
		// In a Coder workspace the trust store is not the browser's.
		fields = append(fields, huh.NewConfirm().Key("trust").Title("Trust the local CA?").
			Description("Adds it to the system trust store so browsers accept the URLs; down removes it.").
			Value(&v.trust))
	}
	fields = append(fields, huh.NewConfirm().Key("skip").Title("Skip the orchestrator?").
		Description("Builds everything else, with neither Humanitec nor the local orchestrator; Backstage is deployed by one, so not in this run.").
		Value(&v.skip))
	fields = append(fields, huh.NewConfirm().Key("wait").Title("Wait for Backstage?").
		Description(fmt.Sprintf("Follows its build and deployment until it answers, up to %s more (--wait).", duration(p.opts.WaitTimeout))).
		Value(&v.wait))
	extras := huh.NewGroup(fields...).Title("Options")
	return []*huh.Group{cluster, extras}
}
