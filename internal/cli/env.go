package cli

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/google/renameio/v2"
	"github.com/spf13/cobra"

	"github.com/pocketidp/pocketidp/internal/orchestrator"
)

// envCommand is `pocketidp env`: the exports that point humctl, Terraform
// and pocketidp at the install's local orchestrator. It replaces the
// tutorial's `humctl login`.
func (a *app) envCommand() *cobra.Command {
	var showToken, writeHumctl bool
	cmd := &cobra.Command{
		Use:   "env",
		Short: "Print the exports that point humctl and Terraform at the local orchestrator",
		Long: `Prints shell exports for the install's local orchestrator: HUMANITEC_ORG, the API
prefix (under the names humctl, the Terraform provider and pocketidp read) and the CA
(SSL_CERT_DIR). The token is shown only with --show-token:

  eval "$(pocketidp env --show-token)"

--write-humctl-config writes ~/.humctl (apiPrefix, org, token), as humctl login would.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runEnv(cmd, showToken, writeHumctl) },
	}
	cmd.Flags().BoolVar(&showToken, "show-token", false, "print the token too (it is a secret: only into your own shell)")
	cmd.Flags().BoolVar(&writeHumctl, "write-humctl-config", false, "also write ~/.humctl for humctl (mode 0600)")
	return cmd
}

func (a *app) runEnv(cmd *cobra.Command, showToken, writeHumctl bool) error {
	acc, _, err := a.localAccess(cmd)
	if err != nil {
		return err
	}
	if writeHumctl {
		home, err := os.UserHomeDir()
		if err != nil {
			return fmt.Errorf("find the home folder for ~/.humctl: %w", err)
		}
		path := filepath.Join(home, ".humctl")
		if err := renameio.WriteFile(path, orchestrator.HumctlConfig(acc), 0o600); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		fmt.Fprintf(a.env.Stderr, "wrote %s: humctl now talks to %s\n", path, acc.URL)
	}
	_, err = fmt.Fprint(a.env.Stdout, orchestrator.Exports(acc, showToken))
	return err
}
