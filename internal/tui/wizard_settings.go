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

// toSettings opens the settings page, which shows the settings and asks
// whether to keep them; keep preselects "Keep" over "Change".
func (m *wizardModel) toSettings(keep bool) (tea.Model, tea.Cmd) {
	m.phase = phaseSettings
	m.loadSettings(keep)
	_, cmd := m.newForm(m.keepGroup())
	return m, cmd
}

// toSettingsEdit opens the settings' fields.
func (m *wizardModel) toSettingsEdit() (tea.Model, tea.Cmd) {
	m.phase = phaseSettingsEdit
	m.loadSettings(false)
	_, cmd := m.newForm(m.editGroups()...)
	return m, cmd
}

func (m *wizardModel) loadSettings(keep bool) {
	o := m.opts
	m.v.name, m.v.port, m.v.listen = o.Name, strconv.Itoa(o.Port), o.ListenAddress
	m.v.kubeconfig, m.v.kubeCtx = o.Kubeconfig, o.Context
	m.v.trust, m.v.skip, m.v.wait = o.Trust, o.SkipHumanitec, o.Wait
	m.v.keep = keep && m.settingsErr == nil
}

func (m *wizardModel) keepGroup() *huh.Group {
	return huh.NewGroup(huh.NewConfirm().Key("keep").
		Title(m.choiceTitle("Settings", "keep them", "change them")).
		Description(settingsText(m.opts)).
		Affirmative("Keep").
		Negative("Change").
		Value(&m.v.keep))
}

func (m *wizardModel) editGroups() []*huh.Group {
	cluster := huh.NewGroup(
		huh.NewInput().Key("name").Title(m.inputTitle("Cluster name", m.v.name)).Value(&m.v.name).
			Validate(validField(func(o *config.Options, s string) error { o.Name = s; return nil })),
		huh.NewInput().Key("port").Title(m.inputTitle("HTTPS port", m.v.port)).Description("URLs become https://<name>.localhost:<port>").Value(&m.v.port).
			Validate(validField(func(o *config.Options, s string) error {
				p, err := strconv.Atoi(s)
				if err != nil {
					return fmt.Errorf("port %q is not a number", s)
				}
				o.Port = p
				return nil
			})),
		huh.NewInput().Key("listen").Title(m.inputTitle("Listen address", m.v.listen)).Description("127.0.0.1 keeps it on this machine, 0.0.0.0 opens it to the network").Value(&m.v.listen).
			Validate(validField(func(o *config.Options, s string) error { o.ListenAddress = s; return nil })),
		huh.NewInput().Key("kubeconfig").Title(m.inputTitle("Existing cluster: kubeconfig", m.v.kubeconfig)).Description("Empty creates a kind cluster").Value(&m.v.kubeconfig),
		huh.NewInput().Key("context").Title(m.inputTitle("Existing cluster: context", m.v.kubeCtx)).Value(&m.v.kubeCtx),
	).Title("Cluster")
	var fields []huh.Field
	if !m.opts.Coder {
		// In a Coder workspace the trust store is not the browser's.
		fields = append(fields, huh.NewConfirm().Key("trust").Title("Trust the local CA?").
			Description("Adds it to the system trust store so browsers accept the URLs; down removes it.").
			Value(&m.v.trust))
	}
	fields = append(fields, huh.NewConfirm().Key("skip").Title("Skip the orchestrator?").
		Description("Builds everything else, with neither Humanitec nor the local orchestrator; Backstage is deployed by one, so not in this run.").
		Value(&m.v.skip))
	fields = append(fields, huh.NewConfirm().Key("wait").Title("Wait for Backstage?").
		Description(fmt.Sprintf("Follows its build and deployment until it answers, up to %s more (--wait).", duration(m.opts.WaitTimeout))).
		Value(&m.v.wait))
	extras := huh.NewGroup(fields...).Title("Options")
	return []*huh.Group{cluster, extras}
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

// applySettings takes the settings form's values into the options. It
// reports needCreds when the orchestrator was switched back on (Humanitec
// or, with both left empty, the local one), and keeps the options unchanged (settingsErr set) when they are bad.
func (m *wizardModel) applySettings() (needCreds bool) {
	o := m.opts
	d := config.Defaults()
	o.Name = cmp.Or(strings.TrimSpace(m.v.name), d.Name)
	o.Port = d.Port
	if p, err := strconv.Atoi(strings.TrimSpace(m.v.port)); err == nil {
		o.Port = p
	}
	o.ListenAddress = cmp.Or(strings.TrimSpace(m.v.listen), d.ListenAddress)
	o.Kubeconfig, o.Context = strings.TrimSpace(m.v.kubeconfig), strings.TrimSpace(m.v.kubeCtx)
	o.Trust = m.v.trust && !o.Coder
	o.SkipHumanitec = m.v.skip
	o.Wait = m.v.wait
	if !o.SkipHumanitec && m.opts.SkipHumanitec {
		m.opts, m.settingsErr = o, nil
		return true
	}
	if err := o.Validate(); err != nil {
		m.settingsErr = err
		return false
	}
	m.opts, m.settingsErr = o, nil
	return false
}

func (m *wizardModel) settingsDone() (tea.Model, tea.Cmd) {
	needCreds := m.applySettings()
	switch {
	case needCreds:
		return m.toCredentials()
	case m.settingsErr != nil:
		return m.toSettingsEdit()
	case m.in.Refresh != nil:
		// The review shows the machine as it is now, for the options as
		// they are now (credentials typed since the wizard started, an
		// engine stopped meanwhile): it is checked every time.
		m.phase, m.form = phaseRefreshing, nil
		refresh, ctx, o := m.in.Refresh, m.ctx, m.opts
		return m, tea.Batch(m.spin(), func() tea.Msg {
			d, p := refresh(ctx, o)
			return refreshedMsg{doctor: d, plan: p}
		})
	}
	return m.toReview()
}

// --- review ---

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
