package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pocketidp/pocketidp/internal/bootstrap"
	"github.com/pocketidp/pocketidp/internal/orchestrator"
)

// outputYAML is the -o value of `up --dry-run` that prints every object.
const outputYAML = "yaml"

// upDryRun is `up --dry-run`: the plan and the objects up would create,
// made from the options alone. Nothing is created: no cluster, no state, no
// key; only the debug log is written, as by every run.
func (a *app) upDryRun(cmd *cobra.Command) error {
	format := a.flags.output
	if format == outputYAML {
		a.flags.output = "text" // the options know text and json only
	}
	o, err := a.options(cmd)
	if err != nil {
		return err
	}
	var notes []string
	if o.LocalOrchestrator() {
		notes = append(notes, "HUMANITEC_ORG and HUMANITEC_TOKEN are not set: up installs PocketIDP's local orchestrator in the cluster (steps orchestrator/*) and registers with it at "+
			orchestrator.URL(o.Port)+" (--skip-humanitec leaves any orchestrator out)")
	}
	if err := o.Validate(); err != nil {
		return err
	}
	a.redactor.Add(o.HumanitecToken)
	log, closeLog, err := a.openLog(cmd.Name(), o)
	if err != nil {
		return err
	}
	defer closeLog()
	pv, err := bootstrap.NewPreview(&bootstrap.Install{Options: o, Host: a.env.Host, Log: log})
	if err != nil {
		return err
	}
	w := a.redactor.Writer(a.env.Stdout)
	switch format {
	case outputYAML:
		for _, n := range notes {
			fmt.Fprintf(w, "# note: %s\n", n)
		}
		_, err = fmt.Fprint(w, pv.YAML())
		return err
	case "json":
		return writeJSON(w, struct {
			DryRun bool     `json:"dry_run"`
			Notes  []string `json:"notes,omitempty"`
			*bootstrap.Preview
		}{true, notes, pv})
	}
	var b strings.Builder
	fmt.Fprintf(&b, "pocketidp up --dry-run: nothing was created.\n\nup would run these steps for cluster %s (install %s), each after those it needs:\n", o.Name, pv.InstallID)
	for i, s := range pv.Steps {
		line := fmt.Sprintf("  %2d. %-26s", i+1, s.Name)
		if len(s.Needs) > 0 {
			line += "  after " + strings.Join(s.Needs, ", ")
		}
		b.WriteString(strings.TrimRight(line, " ") + "\n")
	}
	b.WriteString("\nand create:\n")
	for _, d := range pv.Documents {
		fmt.Fprintf(&b, "  - %s\n", d.Source)
	}
	for _, n := range append(notes, pv.Warnings...) {
		fmt.Fprintf(&b, "\nnote: %s\n", n)
	}
	b.WriteString("\nSee every object, secrets masked: pocketidp up --dry-run -o yaml\n")
	_, err = fmt.Fprint(w, b.String())
	return err
}
