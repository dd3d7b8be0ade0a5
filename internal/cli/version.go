package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is stamped by the Makefile (-X); a plain `go build` reports the
// module version or "dev".
var version = ""

// versionNumber is the stamped version, else the module's, else "dev".
func versionNumber() string {
	v := version
	if v == "" {
		v = "dev"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
	}
	return v
}

// versionString is what `pocketidp version` and `--version` print.
func versionString() string {
	return fmt.Sprintf("%s (%s %s/%s)", versionNumber(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func (a *app) runVersion(cmd *cobra.Command, _ []string) error {
	v := versionNumber()
	info := struct {
		Version string `json:"version"`
		Go      string `json:"go"`
		OS      string `json:"os"`
		Arch    string `json:"arch"`
	}{v, runtime.Version(), runtime.GOOS, runtime.GOARCH}
	if a.flags.output == "json" {
		return writeJSON(a.env.Stdout, info)
	}
	fmt.Fprintf(a.env.Stdout, "pocketidp %s (%s %s/%s)\n", info.Version, info.Go, info.OS, info.Arch)
	return nil
}
