package tui

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"

	tea "charm.land/bubbletea/v2"
	"charm.land/huh/v2"

	"github.com/pocketidp/pocketidp/internal/config"
)

// settingsPage shows the settings and asks whether to keep them. "Keep"
// reports the settings (a settingsReport), "Change" a changeSettingsReport.
type settingsPage struct {
	env  *wizardEnv
	opts config.Options
	v    settingsValues
	keep bool
	formPage
}

// newSettingsPage opens the settings; keep preselects "Keep" over "Change".
func newSettingsPage(env *wizardEnv, o config.Options, keep bool) *settingsPage {
	p := &settingsPage{env: env, opts: o, v: loadSettings(o), keep: keep}
	p.formPage = newFormPage(p.group())
	return p
}

func (p *settingsPage) Init() tea.Cmd { return p.form.Init() }

func (p *settingsPage) Update(msg tea.Msg) (tea.Cmd, report) {
	cmd, st := p.update(msg, func() string { return "" })
	switch st {
	case huh.StateCompleted:
		if !p.keep {
			return nil, changeSettingsReport{}
		}
		return nil, p.v.apply(p.opts)
	case huh.StateAborted:
		return nil, abortReport{}
	}
	return cmd, nil
}

func (p *settingsPage) View() pageView {
	return pageView{step: 2, form: p.form.View()}
}

func (p *settingsPage) group() *huh.Group {
	return huh.NewGroup(huh.NewConfirm().Key("keep").
		Title(p.env.choiceTitle("Settings", "keep them", "change them")).
		Description(settingsText(p.opts)).
		Affirmative("Keep").
		Negative("Change").
		Value(&p.keep))
}

// settingsValues are the settings' fields; huh binds to their addresses.
type settingsValues struct {
	name, port, listen, kubeconfig, kubeCtx string
	trust, skip, wait                       bool
}

func loadSettings(o config.Options) settingsValues {
	return settingsValues{
		name: o.Name, port: strconv.Itoa(o.Port), listen: o.ListenAddress,
		kubeconfig: o.Kubeconfig, kubeCtx: o.Context,
		trust: o.Trust, skip: o.SkipHumanitec, wait: o.Wait,
	}
}

// validField checks one field with the same rules as the flags: the value is
// applied to the defaults and the whole is validated. Empty keeps the default.
func validField(apply func(o *config.Options, s string) error) func(string) error {
	return func(s string) error {
		s = strings.TrimSpace(s)
		if s == "" {
			return nil
		}
		o := config.Defaults()
		o.SkipHumanitec = true
		if err := apply(&o, s); err != nil {
			return err
		}
		return o.Validate()
	}
}

// apply takes the values into cur. It reports needCreds when the
// orchestrator was switched back on (Humanitec or, with both left empty,
// the local one), and cur unchanged with the error when they are bad.
func (v settingsValues) apply(cur config.Options) settingsReport {
	o := cur
	d := config.Defaults()
	o.Name = cmp.Or(strings.TrimSpace(v.name), d.Name)
	o.Port = d.Port
	if p, err := strconv.Atoi(strings.TrimSpace(v.port)); err == nil {
		o.Port = p
	}
	o.ListenAddress = cmp.Or(strings.TrimSpace(v.listen), d.ListenAddress)
	o.Kubeconfig, o.Context = strings.TrimSpace(v.kubeconfig), strings.TrimSpace(v.kubeCtx)
	o.Trust = v.trust && !o.Coder
	o.SkipHumanitec = v.skip
	o.Wait = v.wait
	if !o.SkipHumanitec && cur.SkipHumanitec {
		return settingsReport{opts: o, needCreds: true}
	}
	if err := o.Validate(); err != nil {
		return settingsReport{opts: cur, err: err}
	}
	return settingsReport{opts: o}
}

// settingsLine is the one-line recap of the chosen options.
func settingsLine(o config.Options) string {
	where := "kind cluster " + o.Name
	if o.ExistingCluster() {
		where = "cluster " + cmp.Or(o.Context, o.Kubeconfig)
	}
	hum := "Humanitec org " + o.HumanitecOrg
	switch {
	case o.SkipHumanitec:
		hum = "orchestrator skipped"
	case o.LocalOrchestrator():
		hum = "local orchestrator"
	}
	if o.Wait && !o.SkipHumanitec {
		hum += " · waits for Backstage"
	}
	return fmt.Sprintf("%s on %s:%d · %s", where, o.ListenAddress, o.Port, hum)
}

func settingsText(o config.Options) string {
	yes := func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	cluster := "new kind cluster " + o.Name
	if o.ExistingCluster() {
		cluster = "existing: " + strings.TrimSpace(o.Kubeconfig+" "+o.Context)
	}
	hum := "org " + o.HumanitecOrg
	switch {
	case o.SkipHumanitec:
		hum = "skipped"
	case o.LocalOrchestrator():
		hum = "none: PocketIDP's local orchestrator"
	}
	rows := [][2]string{
		{"cluster", cluster},
		{"port", strconv.Itoa(o.Port)},
		{"listen", o.ListenAddress},
		{"Humanitec", hum},
	}
	if !o.SkipHumanitec {
		wait := "no, up ends when the platform is up"
		if o.Wait {
			wait = "for Backstage too, up to " + duration(o.WaitTimeout)
		}
		rows = append(rows, [2]string{"wait", wait})
	}
	if !o.Coder {
		rows = append(rows, [2]string{"trust CA", yes(o.Trust)})
	}
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "%-10s %s\n", r[0], r[1])
	}
	return strings.TrimRight(b.String(), "\n")
}
