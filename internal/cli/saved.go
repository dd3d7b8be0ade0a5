package cli

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/pocketidp/pocketidp/internal/config"
)

// savedFlags names the options an earlier run saved that this run uses
// again because no flag gave them, as the flags that would give them
// (`--kubeconfig /x`): a value the user no longer types must not act
// unseen. Defaults are not named.
func savedFlags(saved config.Options, fl *pflag.FlagSet) []string {
	d := config.Defaults()
	var out []string
	add := func(flag string, v, def any) {
		if v == def || fl.Changed(flag) {
			return
		}
		s := fmt.Sprint(v)
		if s == "" || strings.ContainsAny(s, " \"'$") {
			s = strconv.Quote(s)
		}
		out = append(out, "--"+flag+"="+s)
	}
	add("name", saved.Name, d.Name)
	add("port", saved.Port, d.Port)
	add("listen-address", saved.ListenAddress, d.ListenAddress)
	add("kubeconfig", saved.Kubeconfig, d.Kubeconfig)
	add("context", saved.Context, d.Context)
	add("chart-dir", saved.ChartDir, d.ChartDir)
	add("trust", saved.Trust, d.Trust)
	add("backstage-repo", saved.BackstageRepo, d.BackstageRepo)
	add("backstage-ref", saved.BackstageRef, d.BackstageRef)
	add("backstage-source", saved.BackstageSource, d.BackstageSource)
	return out
}

// savedNote is what `up` says before it starts when it reuses saved
// options, with how to change them.
func savedNote(flags []string, stateDir string) string {
	if len(flags) == 0 {
		return ""
	}
	return fmt.Sprintf("pocketidp: using the options saved by the install in %s: %s\n"+
		"  a flag changes one (--kubeconfig \"\" --context \"\" goes back to a new kind cluster); "+
		"`pocketidp down` removes the install, `pocketidp down --forget` only forgets it\n",
		stateDir, strings.Join(flags, " "))
}
