// Package cli is the pocketidp command line: flags and environment become
// options, options become a plan, the plan runs with a renderer.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/pocketidp/pocketidp/internal/config"
	"github.com/pocketidp/pocketidp/internal/doctor"
	"github.com/pocketidp/pocketidp/internal/secret"
	"github.com/pocketidp/pocketidp/internal/state"
)

// Exit codes.
const (
	ExitOK          = 0
	ExitFailed      = 1
	ExitBadInput    = 2
	ExitInterrupted = 130
)

// Env is everything the CLI takes from its process, so tests can run it
// whole without touching the real one.
type Env struct {
	Args   []string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	// IsTTY reports whether stdout is a terminal.
	IsTTY bool
	// Host is the machine the doctor looks at.
	Host doctor.Host
	// Now stamps log file names; nil means time.Now.
	Now func() time.Time
}

// OSEnv is the real process.
func OSEnv(isTTY bool) Env {
	return Env{
		Args: os.Args[1:], Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		Getenv: os.Getenv, IsTTY: isTTY, Host: doctor.System{},
	}
}

// Run runs the command line and returns the exit code.
func Run(ctx context.Context, env Env) int {
	if env.Now == nil {
		env.Now = time.Now
	}
	app := &app{env: env, redactor: &secret.Redactor{}}
	root := app.rootCommand()
	root.SetArgs(env.Args)
	root.SetIn(env.Stdin)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	err := root.ExecuteContext(ctx)
	return app.exit(err)
}

type app struct {
	env      Env
	redactor *secret.Redactor
	flags    flags
	// logPath is the debug log of this run, printed on failure.
	logPath string
}

// flags are the raw command-line values before they meet the environment.
type flags struct {
	org, tokenFile, giteaPasswordFile, apiURL, name, listen, kubeconfig, kubeContext, chartDir string
	output, logFile, stateDir, giteaURL                                                        string
	backstageRepo, backstageRef, backstageSource                                               string
	port                                                                                       int
	trust, yes, skipHumanitec, verbose, includeTutorial, noPodWait, wait                       bool
	timeout, waitTimeout                                                                       time.Duration
}

func (a *app) exit(err error) int {
	if err == nil {
		return ExitOK
	}
	msg := a.redactor.Redact(err.Error())
	var ue usageError
	switch {
	case errors.Is(err, context.Canceled):
		fmt.Fprintf(a.env.Stderr, "pocketidp: interrupted; state is saved, run the same command again to resume\n")
		return ExitInterrupted
	case errors.As(err, &ue), config.IsInput(err):
		fmt.Fprintf(a.env.Stderr, "pocketidp: %s\n", indentJoined(msg))
		return ExitBadInput
	default:
		fmt.Fprintf(a.env.Stderr, "pocketidp: %s\n", indentJoined(msg))
		if a.logPath != "" {
			fmt.Fprintf(a.env.Stderr, "full log: %s\n", a.logPath)
		}
		return ExitFailed
	}
}

// indentJoined keeps errors.Join's one-per-line shape readable.
func indentJoined(s string) string { return strings.ReplaceAll(s, "\n", "\n  ") }

// usageError is a mistake on the command line itself.
type usageError struct{ error }

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "pocketidp",
		Short: "A real Internal Developer Platform on one machine, in one command",
		Long: `PocketIDP creates a kind cluster with an HTTPS ingress on port 8443, Gitea with
the 5minorg organisation and its Backstage repository, a CI runner and an image
registry, registers the platform with the Humanitec Platform Orchestrator, and
triggers the Backstage deployment. Without a subcommand it runs "up".`,
		SilenceUsage:      true,
		SilenceErrors:     true,
		Args:              cobra.NoArgs,
		RunE:              a.runUp,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })

	f := root.PersistentFlags()
	f.StringVar(&a.flags.org, "humanitec-org", "", "Humanitec org id (env HUMANITEC_ORG)")
	f.StringVar(&a.flags.tokenFile, "humanitec-token-file", "", "file holding the Humanitec API token (else env HUMANITEC_TOKEN)")
	f.StringVar(&a.flags.giteaPasswordFile, "gitea-admin-password-file", "", "file holding the Gitea admin's password (else env GITEA_ADMIN_PASSWORD; default 5minadmin, as the course says)")
	f.BoolVar(&a.flags.skipHumanitec, "skip-humanitec", false, "build everything but the Humanitec registration")
	f.StringVar(&a.flags.name, "name", config.DefaultName, "kind cluster name")
	f.IntVar(&a.flags.port, "port", config.DefaultPort, "host port of the HTTPS ingress")
	f.StringVar(&a.flags.listen, "listen-address", config.DefaultListenAddress, "host address the ingress port binds to")
	f.StringVar(&a.flags.kubeconfig, "kubeconfig", "", "install into the cluster of this kubeconfig instead of creating one")
	f.StringVar(&a.flags.kubeContext, "context", "", "kubeconfig context of an existing cluster to install into")
	f.StringVar(&a.flags.chartDir, "chart-dir", "", "folder of local chart archives (.tgz) for offline installs")
	f.BoolVar(&a.flags.trust, "trust", false, "install the local CA into the system trust store (removed by down)")
	f.BoolVarP(&a.flags.yes, "yes", "y", false, "ask nothing: run headless with flags and environment")
	f.StringVarP(&a.flags.output, "output", "o", "text", "output format: text or json")
	f.StringVar(&a.flags.logFile, "log-file", "", "debug log file (default: a new file under the user cache dir)")
	f.StringVar(&a.flags.stateDir, "state-dir", "", "folder of the install's state (default: the user config dir)")
	f.DurationVar(&a.flags.timeout, "timeout", config.DefaultTimeout, "give up on the platform after this long (--wait-timeout comes on top for Backstage)")
	f.BoolVar(&a.flags.wait, "wait", false, "also wait for the Backstage build and deployment until Backstage answers (default under Coder)")
	f.DurationVar(&a.flags.waitTimeout, "wait-timeout", config.DefaultWaitTimeout, "with --wait: give up on Backstage after this long")
	f.BoolVarP(&a.flags.verbose, "verbose", "v", false, "show debug lines too")
	f.StringVar(&a.flags.backstageRepo, "backstage-repo", config.DefaultBackstageRepo, "Git URL Gitea migrates the Backstage app from")
	f.StringVar(&a.flags.backstageRef, "backstage-ref", "", "branch, tag or commit of --backstage-repo (default: a pinned commit of the default repository, else its default branch)")
	f.StringVar(&a.flags.backstageSource, "backstage-source", "", "local clone or git bundle of the Backstage app, pushed when Gitea cannot reach --backstage-repo (offline)")
	// An existing Gitea instead of the one the chart installs, reached
	// directly: for the test bed, where the API server runs no pods.
	f.StringVar(&a.flags.giteaURL, "gitea-url", "", "use the Gitea at this URL instead of the in-cluster one")
	_ = f.MarkHidden("gitea-url")
	// The test bed's API server runs no pods: installs wait for hooks only.
	f.BoolVar(&a.flags.noPodWait, "no-pod-wait", false, "install charts without waiting for their pods")
	_ = f.MarkHidden("no-pod-wait")

	down := &cobra.Command{Use: "down", Short: "Remove what this install created", Args: cobra.NoArgs, RunE: a.runDown}
	down.Flags().BoolVar(&a.flags.includeTutorial, "include-tutorial-objects", false,
		"also remove Humanitec objects on 5min-local that PocketIDP did not create (the tutorial's class 5min, scaffolded apps)")
	root.AddCommand(
		&cobra.Command{Use: "up", Short: "Create the platform, or converge it if it exists", Args: cobra.NoArgs, RunE: a.runUp},
		down,
		&cobra.Command{Use: "status", Short: "Show what exists, its health and URLs", Args: cobra.NoArgs, RunE: a.runStatus},
		&cobra.Command{Use: "doctor", Short: "Check the machine before creating anything", Args: cobra.NoArgs, RunE: a.runDoctor},
		&cobra.Command{Use: "version", Short: "Print the version", Args: cobra.NoArgs, RunE: a.runVersion},
		a.envCommand(), a.graphCommand(), a.orchestratorCommand(),
	)
	for _, c := range root.Commands() {
		c.SetFlagErrorFunc(root.FlagErrorFunc())
	}
	return root
}

// options merges defaults, the previous run's options, the environment and
// the flags, in that order of precedence (later wins).
func (a *app) options(cmd *cobra.Command) (config.Options, error) {
	o := config.Defaults()
	stateDir := a.flags.stateDir
	if stateDir == "" {
		d, err := config.DefaultStateDir()
		if err != nil {
			return o, err
		}
		stateDir = d
	}
	if prev, err := state.Read(stateDir); err == nil {
		// The saved options lack the password (never saved): keep the default.
		pw := o.GiteaAdminPassword
		o = prev.Options
		o.GiteaAdminPassword = pw
	} else if !errors.Is(err, os.ErrNotExist) {
		return o, err
	}
	o.StateDir = stateDir

	get := a.env.Getenv
	if v := get("HUMANITEC_ORG"); v != "" {
		o.HumanitecOrg = v
	}
	if v := get("HUMANITEC_API_URL"); v != "" {
		o.HumanitecAPIURL = v
	}
	if v := get("HUMANITEC_TOKEN"); v != "" {
		o.HumanitecToken = secret.New(v)
	}
	o.Coder = get("CODER") == "true"

	fl := cmd.Flags()
	set := func(name string, apply func()) {
		if fl.Changed(name) {
			apply()
		}
	}
	set("humanitec-org", func() { o.HumanitecOrg = a.flags.org })
	if a.flags.tokenFile != "" {
		tok, err := config.ReadSecretFile("humanitec-token-file", a.flags.tokenFile, "HUMANITEC_TOKEN")
		if err != nil {
			return o, err
		}
		o.HumanitecToken = tok
	}
	if v := get("GITEA_ADMIN_PASSWORD"); v != "" {
		o.GiteaAdminPassword = secret.New(v)
	}
	if a.flags.giteaPasswordFile != "" {
		pw, err := config.ReadSecretFile("gitea-admin-password-file", a.flags.giteaPasswordFile, "GITEA_ADMIN_PASSWORD")
		if err != nil {
			return o, err
		}
		o.GiteaAdminPassword = pw
	}
	// A skip saved by an earlier run (maybe chosen by --yes for want of
	// credentials) gives way to credentials given now: the doctor's advice
	// for adding Humanitec later is to set them and run up again. The token
	// is never saved, so having one means it was given now. --skip-humanitec
	// on this run still wins; `down` keeps the saved choice, as it takes
	// back what that install made.
	if cmd.Name() != "down" && o.HumanitecOrg != "" && !o.HumanitecToken.Empty() {
		o.SkipHumanitec = false
	}
	set("skip-humanitec", func() { o.SkipHumanitec = a.flags.skipHumanitec })
	set("name", func() { o.Name = a.flags.name })
	set("port", func() { o.Port = a.flags.port })
	set("listen-address", func() { o.ListenAddress = a.flags.listen })
	set("kubeconfig", func() { o.Kubeconfig = a.flags.kubeconfig })
	set("context", func() { o.Context = a.flags.kubeContext })
	set("chart-dir", func() { o.ChartDir = a.flags.chartDir })
	set("trust", func() { o.Trust = a.flags.trust })
	set("backstage-repo", func() { o.BackstageRepo = a.flags.backstageRepo })
	set("backstage-ref", func() { o.BackstageRef = a.flags.backstageRef })
	set("backstage-source", func() { o.BackstageSource = a.flags.backstageSource })
	o.Yes = a.flags.yes
	o.Output = a.flags.output
	o.LogFile = a.flags.logFile
	o.Timeout = a.flags.timeout
	// A Coder workspace's startup script is the learner's only view of the
	// build, so it waits unless told not to.
	o.Wait = o.Coder
	set("wait", func() { o.Wait = a.flags.wait })
	o.WaitTimeout = a.flags.waitTimeout
	if o.Coder && o.Trust {
		// The workspace's trust store is not the learner's browser's.
		o.Trust = false
	}
	a.redactor.Add(o.HumanitecToken)
	if o.GiteaAdminPassword.Reveal() != o.GiteaAdmin {
		// The course's default password equals the user name and is printed
		// on the summary card; only a password of the user's own is masked.
		a.redactor.Add(o.GiteaAdminPassword)
	}
	return o, nil
}
