package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/pocketidp/pocketidp/internal/bootstrap"
	"github.com/pocketidp/pocketidp/internal/config"
	"github.com/pocketidp/pocketidp/internal/humanitec"
	"github.com/pocketidp/pocketidp/internal/orchestrator"
	"github.com/pocketidp/pocketidp/internal/secret"
	"github.com/pocketidp/pocketidp/internal/state"
)

// graphTimeout bounds `pocketidp graph`'s one call.
const graphTimeout = 15 * time.Second

// graphCommand is `pocketidp graph --app A [--env E]`: the resource graph
// of an environment, from the local orchestrator, in the terminal.
func (a *app) graphCommand() *cobra.Command {
	var appID, envID string
	cmd := &cobra.Command{
		Use:   "graph",
		Short: "Show an app environment's resources from the local orchestrator",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if appID == "" {
				return &config.InputError{Msg: "graph needs --app", Hint: "e.g. pocketidp graph --app 5min-backstage-<id>"}
			}
			c, err := a.localOrchestrator(cmd)
			if err != nil {
				return err
			}
			res, err := c.Resources(cmd.Context(), appID, envID)
			if err != nil {
				return err
			}
			_, err = fmt.Fprint(a.env.Stdout, orchestrator.TextGraph(res))
			return err
		},
	}
	cmd.Flags().StringVar(&appID, "app", "", "application id")
	cmd.Flags().StringVar(&envID, "env", humanitec.EnvID, "environment id")
	return cmd
}

// localAccess reads the install's local orchestrator from its state.
func (a *app) localAccess(cmd *cobra.Command) (orchestrator.Access, state.File, error) {
	o, err := a.options(cmd)
	if err != nil {
		return orchestrator.Access{}, state.File{}, err
	}
	f, err := state.Read(o.StateDir)
	if errors.Is(err, os.ErrNotExist) {
		return orchestrator.Access{}, state.File{}, &config.InputError{Msg: "there is no install in " + o.StateDir,
			Hint: "run `pocketidp up` first (without HUMANITEC_ORG and HUMANITEC_TOKEN it installs the local orchestrator)"}
	}
	if err != nil {
		return orchestrator.Access{}, state.File{}, err
	}
	acc := orchestrator.Access{Org: f.Values[orchestrator.StateOrg], Token: secret.New(f.Values[orchestrator.StateToken]),
		URL: f.Values[orchestrator.StateURL], CADir: filepath.Join(o.StateDir, "tls")}
	if acc.Org == "" || acc.Token.Empty() {
		return acc, *f, &config.InputError{Msg: "this install has no local orchestrator: it registers with Humanitec, skips the orchestrator, or its up has not made one yet",
			Hint: "use humctl login for Humanitec; or run `pocketidp up` without HUMANITEC_ORG, HUMANITEC_TOKEN and --skip-humanitec"}
	}
	a.redactor.Add(acc.Token)
	if acc.URL == "" {
		acc.URL = orchestrator.URL(f.Options.Port)
	}
	return acc, *f, nil
}

// localOrchestrator is a client of the install's local orchestrator that
// reaches it as `status` reaches the platform: through the ingress (also
// where the resolver does not send *.localhost to loopback), trusting the
// install's CA.
func (a *app) localOrchestrator(cmd *cobra.Command) (*orchestrator.Client, error) {
	acc, f, err := a.localAccess(cmd)
	if err != nil {
		return nil, err
	}
	o := f.Options
	o.StateDir = filepath.Dir(acc.CADir) // the CA is there
	hc, err := (&bootstrap.Install{Options: o}).IngressClient()
	if err != nil {
		return nil, err
	}
	hc.Timeout = graphTimeout
	return &orchestrator.Client{URL: acc.URL, Org: acc.Org, Token: acc.Token, HTTP: hc}, nil
}
