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
	"github.com/spf13/pflag"

	"github.com/pocketidp/pocketidp/internal/config"
	"github.com/pocketidp/pocketidp/internal/doctor"
	"github.com/pocketidp/pocketidp/internal/secret"
	"github.com/pocketidp/pocketidp/internal/state"
	"github.com/pocketidp/pocketidp/internal/tui"
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
	// StdinTTY reports whether stdin is a terminal: a wizard needs keys as
	// well as a screen (`pocketidp < /dev/null` has a screen only).
	StdinTTY bool
	// Host is the machine the doctor looks at.
	Host doctor.Host
	// Now stamps log file names; nil means time.Now.
	Now func() time.Time
	// bed is set by this package's tests only, never by the product: their
	// API server runs no pods.
	bed testBed
}

// testBed is what a cluster without a kubelet needs: nothing the product
// offers its users.
type testBed struct {
	// giteaURL is a Gitea reached directly instead of the in-cluster one,
	// which never runs.
	giteaURL string
	// hooksOnly installs charts waiting for their hooks only, not for
	// pods that never start.
	hooksOnly bool
}

// OSEnv is the real process.
func OSEnv(stdinTTY, stdoutTTY bool) Env {
	return Env{
		Args: os.Args[1:], Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		Getenv: os.Getenv, IsTTY: stdoutTTY, StdinTTY: stdinTTY, Host: doctor.System{},
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
	code := app.exit(err)
	app.writeResult(code, err)
	return code
}

type app struct {
	env      Env
	redactor *secret.Redactor
	flags    flags
	// logPath is the debug log of this run, printed on failure.
	logPath string
	// saved names the options an earlier run saved that this one reuses
	// (savedFlags); `up` says so before it starts.
	saved []string
	// cmdName is the command that runs (up, down, ...), and started is set
	// once it changed something (the state written, a removal begun): the
	// Ctrl-C message says what is true.
	cmdName string
	started bool
	// inputErr is bad input found in the options of a headless `up`: it is
	// reported with the pre-flight checks' findings, all at once.
	inputErr error
	// warnings are flags given that this run ignores, and why.
	warnings []string
	// urls are the platform's, for the JSON result of an `up` that ended
	// ready.
	urls []tui.Link
}

func (a *app) warn(msg string) { a.warnings = append(a.warnings, msg) }

// printWarnings says, before a run starts, what it ignores: on stderr, so
// stdout stays one event per line.
func (a *app) printWarnings() {
	for _, w := range a.warnings {
		fmt.Fprintf(a.env.Stderr, "pocketidp: warning: %s\n", w)
	}
}

// flags are the raw command-line values before they meet the environment.
type flags struct {
	org, tokenFile, giteaPasswordFile, apiURL, name, listen, kubeconfig, kubeContext, chartDir string
	output, logFile, stateDir, orchestratorBinary                                              string
	backstageRepo, backstageRef, backstageSource                                               string
	port                                                                                       int
	trust, yes, skipHumanitec, verbose, includeTutorial, wait, forget, dryRun                  bool
	timeout, waitTimeout                                                                       time.Duration
}

func (a *app) exit(err error) int {
	if err == nil {
		return ExitOK
	}
	problems := flatten(err)
	switch {
	case interrupted(err):
		fmt.Fprintf(a.env.Stderr, "pocketidp: %s\n", a.interruptedMessage(err))
		return ExitInterrupted
	case badInput(err):
		writeProblems(a.env.Stderr, problems, a.redactor.Redact, fmt.Sprintf("%d problems to fix; nothing was created or removed:", len(problems)))
		return ExitBadInput
	default:
		writeProblems(a.env.Stderr, problems, a.redactor.Redact, fmt.Sprintf("%d problems:", len(problems)))
		if steps := failedSteps(err); len(steps) > 0 {
			fmt.Fprintf(a.env.Stderr, "failed step: %s\n", strings.Join(steps, ", "))
		}
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

// unknownCommand refuses arguments to a command that takes none: the
// root's only arguments are subcommands, so one it does not know is
// probably a typo, and cobra's suggestions say which ("did you mean").
func unknownCommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if cmd.HasParent() {
		msg = fmt.Sprintf("%q takes no arguments, got %q", cmd.CommandPath(), strings.Join(args, " "))
	} else if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "; did you mean " + strings.Join(s, " or ") + "?"
	}
	return usageError{fmt.Errorf("%s (see %s --help)", msg, cmd.Root().CommandPath())}
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "pocketidp",
		Short: "A real Internal Developer Platform on one machine, in one command",
		Long: `PocketIDP creates a kind cluster with an HTTPS ingress on port 8443, Gitea with
the 5minorg organisation and its Backstage repository, a CI runner and an image
registry, registers the platform with the Humanitec Platform Orchestrator (with
HUMANITEC_ORG and HUMANITEC_TOKEN) or else with PocketIDP's local orchestrator,
which it installs in the cluster, and triggers the Backstage deployment. Without
a command, on a terminal, it opens a setup wizard and then runs "up".`,
		Example: `  pocketidp                       # on a terminal: the setup wizard, then up
  pocketidp up --yes              # headless: Humanitec with HUMANITEC_ORG/HUMANITEC_TOKEN, else the local orchestrator
  pocketidp up --yes --skip-humanitec  # no orchestrator at all
  pocketidp status                # what exists and whether its URLs answer
  pocketidp down                  # choose what to remove, then remove it`,
		Version:           versionString(),
		SilenceUsage:      true,
		SilenceErrors:     true,
		Args:              unknownCommand,
		RunE:              a.runUp,
		CompletionOptions: cobra.CompletionOptions{HiddenDefaultCmd: false},
	}
	root.SetVersionTemplate("pocketidp {{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	// Two edits away is a typo ("stauts"); cobra's own default.
	root.SuggestionsMinimumDistance = 2

	up := &cobra.Command{Use: "up", Short: "Create the platform, or converge it if it exists", Args: unknownCommand, RunE: a.runUp,
		Example: `  pocketidp up --yes                          # headless, credentials from the environment
  pocketidp up --yes --humanitec-org my-org --humanitec-token-file ~/.humanitec-token
  pocketidp up --yes --skip-humanitec          # everything but Humanitec
  pocketidp up --yes --wait                    # and wait until Backstage answers
  pocketidp up --kubeconfig ~/.kube/config --context kind-other   # an existing cluster
  pocketidp up --dry-run                      # the plan, creating nothing
  pocketidp up --dry-run -o yaml              # every object up would create, secrets masked`}
	down := &cobra.Command{Use: "down", Short: "Remove what this install created", Args: unknownCommand, RunE: a.runDown,
		Example: `  pocketidp down                                  # choose what to remove
  pocketidp down --yes                            # everything this install created
  pocketidp down --yes --include-tutorial-objects # and the tutorial's objects on 5min-local
  pocketidp down --forget                         # only forget an install that is gone`}
	status := &cobra.Command{Use: "status", Short: "Show what exists, its health and URLs (exit 1 when not healthy)", Args: unknownCommand, RunE: a.runStatus,
		Example: "  pocketidp status\n  pocketidp status -o json"}
	doctor := &cobra.Command{Use: "doctor", Short: "Check the machine before creating anything", Args: unknownCommand, RunE: a.runDoctor,
		Example: "  pocketidp doctor\n  pocketidp doctor --port 9443"}
	version := &cobra.Command{Use: "version", Short: "Print the version", Args: unknownCommand, RunE: a.runVersion}

	// Each command takes the flags it uses, and its help lists only those.
	for _, c := range []*cobra.Command{root, up} {
		a.humanitecFlags(c.Flags())
		a.clusterFlags(c.Flags())
		a.runFlags(c.Flags())
		a.upFlags(c.Flags())
	}
	a.humanitecFlags(down.Flags())
	a.existingClusterFlags(down.Flags())
	a.runFlags(down.Flags())
	down.Flags().BoolVar(&a.flags.includeTutorial, "include-tutorial-objects", false,
		"also remove Humanitec objects on 5min-local that PocketIDP did not create (the tutorial's class 5min, scaffolded apps)")
	up.Flags().BoolVar(&a.flags.dryRun, "dry-run", false, "show the plan and create nothing; with -o yaml, every object up would create (secrets masked)")
	up.Flags().Lookup("output").Usage = "output format: text or json; with --dry-run also yaml"
	down.Flags().BoolVar(&a.flags.forget, "forget", false,
		"only forget the install (its state, CA and keys), touching nothing else: for an install whose cluster or Humanitec objects are gone or cannot be reached")
	a.humanitecFlags(doctor.Flags())
	a.clusterFlags(doctor.Flags())
	a.stateFlags(doctor.Flags())
	a.stateFlags(status.Flags())
	a.outputFlag(version.Flags())

	env, graph := a.envCommand(), a.graphCommand()
	for _, c := range []*cobra.Command{env, graph} {
		c.Flags().StringVar(&a.flags.stateDir, "state-dir", "", "folder of the install's state (default: the user config dir)")
	}
	root.AddCommand(up, down, status, doctor, version, env, graph, a.orchestratorCommand())
	for _, c := range root.Commands() {
		c.SetFlagErrorFunc(root.FlagErrorFunc())
	}
	return root
}

func (a *app) humanitecFlags(f *pflag.FlagSet) {
	f.StringVar(&a.flags.org, "humanitec-org", "", "Humanitec org id (env HUMANITEC_ORG)")
	f.StringVar(&a.flags.tokenFile, "humanitec-token-file", "", "file holding the Humanitec API token, readable by you alone (else env HUMANITEC_TOKEN)")
	f.BoolVar(&a.flags.skipHumanitec, "skip-humanitec", false, "build (or remove) everything but the orchestrator (Humanitec's, or else PocketIDP's local one) and the registration with it")
}

// existingClusterFlags say where an existing cluster is, when that moved
// since the install was made.
func (a *app) existingClusterFlags(f *pflag.FlagSet) {
	f.StringVar(&a.flags.kubeconfig, "kubeconfig", "", "install into the cluster of this kubeconfig instead of creating one (\"\" goes back to a kind cluster)")
	f.StringVar(&a.flags.kubeContext, "context", "", "kubeconfig context of an existing cluster to install into")
}

func (a *app) clusterFlags(f *pflag.FlagSet) {
	f.StringVar(&a.flags.name, "name", config.DefaultName, "kind cluster name")
	f.IntVar(&a.flags.port, "port", config.DefaultPort, "host port of the HTTPS ingress")
	f.StringVar(&a.flags.listen, "listen-address", config.DefaultListenAddress, "host address the ingress port binds to (0.0.0.0 opens it to the network)")
	a.existingClusterFlags(f)
}

func (a *app) outputFlag(f *pflag.FlagSet) {
	f.StringVarP(&a.flags.output, "output", "o", "text", "output format: text or json")
}

func (a *app) stateFlags(f *pflag.FlagSet) {
	a.outputFlag(f)
	f.StringVar(&a.flags.stateDir, "state-dir", "", "folder of the install's state (default: the user config dir)")
}

// runFlags are those of the commands that change things.
func (a *app) runFlags(f *pflag.FlagSet) {
	a.stateFlags(f)
	f.BoolVarP(&a.flags.yes, "yes", "y", false, "ask nothing: run headless with flags and environment")
	f.StringVar(&a.flags.logFile, "log-file", "", "debug log file (default: a new file under the user cache dir)")
	f.DurationVar(&a.flags.timeout, "timeout", config.DefaultTimeout, "give up after this long (for up, --wait-timeout comes on top for Backstage)")
	f.BoolVarP(&a.flags.verbose, "verbose", "v", false, "show debug lines too")
}

func (a *app) upFlags(f *pflag.FlagSet) {
	f.StringVar(&a.flags.giteaPasswordFile, "gitea-admin-password-file", "", "file holding the Gitea admin's password (else env GITEA_ADMIN_PASSWORD; default 5minadmin, as the course says)")
	f.StringVar(&a.flags.chartDir, "chart-dir", "", "folder of local chart archives (.tgz) for offline installs")
	f.BoolVar(&a.flags.trust, "trust", false, "install the local CA into the system trust store (removed by down; not under Coder)")
	f.BoolVar(&a.flags.wait, "wait", false, "also wait for the Backstage build and deployment until Backstage answers (default under Coder)")
	f.DurationVar(&a.flags.waitTimeout, "wait-timeout", config.DefaultWaitTimeout, "with --wait: give up on Backstage after this long")
	f.StringVar(&a.flags.backstageRepo, "backstage-repo", config.DefaultBackstageRepo, "Git URL Gitea migrates the Backstage app from")
	f.StringVar(&a.flags.backstageRef, "backstage-ref", "", "branch, tag or commit of --backstage-repo (default: a pinned commit of the default repository, else its default branch)")
	f.StringVar(&a.flags.backstageSource, "backstage-source", "", "local clone or git bundle of the Backstage app, pushed when Gitea cannot reach --backstage-repo (offline)")
	f.StringVar(&a.flags.orchestratorBinary, "orchestrator-binary", "", "static Linux pocketidp binary the local orchestrator's image is made from (default: this binary; e.g. a linux build on macOS)")
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
	prev, err := state.Read(stateDir)
	if config.IsInput(err) {
		return o, err // it names its own fix
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return o, &config.InputError{Msg: fmt.Sprintf("the install's state in %s cannot be read: %v", stateDir, err),
			Hint: "pass --state-dir with a folder PocketIDP may use (it is made when missing)"}
	}
	if err == nil {
		// The saved options lack the password (never saved): keep the default.
		pw := o.GiteaAdminPassword
		o = prev.Options
		o.GiteaAdminPassword = pw
		a.saved = savedFlags(prev.Options, cmd.Flags())
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
		if fl.Changed("trust") {
			a.warn("--trust is ignored under Coder (CODER=true): the workspace's trust store is not your browser's; " +
				"trust the CA on your own machine instead")
		}
	}
	a.redactor.Add(o.HumanitecToken)
	if o.GiteaAdminPassword.Reveal() != o.GiteaAdmin {
		// The course's default password equals the user name and is printed
		// on the summary card; only a password of the user's own is masked.
		a.redactor.Add(o.GiteaAdminPassword)
	}
	return o, nil
}
