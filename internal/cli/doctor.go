package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/pocketidp/pocketidp/internal/doctor"
)

// runDoctor is `pocketidp doctor`: the pre-flight checks alone.
func (a *app) runDoctor(cmd *cobra.Command, _ []string) error {
	o, err := a.options(cmd)
	if err != nil {
		return err
	}
	results := doctor.Run(cmd.Context(), a.env.Host, o)
	if o.Output == "json" {
		if err := writeJSON(a.env.Stdout, results); err != nil {
			return err
		}
	} else {
		for _, r := range results {
			fmt.Fprintf(a.env.Stdout, "%-4s  %-10s %s\n", r.Status, r.Check, r.Found)
			if r.Fix != "" && r.Status != doctor.OK {
				fmt.Fprintf(a.env.Stdout, "      %-10s fix: %s\n", "", r.Fix)
			}
		}
	}
	var errs []error
	for _, r := range results {
		if err := r.Err(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.Check, err))
		}
	}
	return errors.Join(errs...)
}
