// Package doctor checks the machine before anything is created: a container
// engine that answers, a free host port, enough CPU and memory, inotify
// limits, and the Humanitec variables. Each check says what it found and, when
// something is wrong, the fix.
package doctor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/pocketidp/pocketidp/internal/config"
)

// Minimums for kind + Traefik + Gitea + runner + registry + Backstage.
const (
	MinCPUs         = 2
	MinMemoryGiB    = 4
	RecommendMemGiB = 8
	// kind's known-issues page asks for these to run more than a few pods.
	MinInotifyWatches   = 524288
	MinInotifyInstances = 512
)

// Status of a check.
type Status string

// Statuses: ok passes, warn passes with a note, fail stops the run.
const (
	OK   Status = "ok"
	Warn Status = "warn"
	Fail Status = "fail"
)

// Result is what one check found.
type Result struct {
	Check  string `json:"check"`
	Status Status `json:"status"`
	Found  string `json:"found"`
	Fix    string `json:"fix,omitempty"`
}

// Err is the result as an error when it failed, nil otherwise.
func (r Result) Err() error {
	if r.Status != Fail {
		return nil
	}
	return &config.InputError{Msg: r.Found, Hint: r.Fix}
}

// Host is the seam to the machine, faked in tests.
type Host interface {
	Getenv(key string) string
	// Output runs a command and returns its standard output.
	Output(ctx context.Context, name string, args ...string) ([]byte, error)
	LookPath(file string) (string, error)
	Listen(network, address string) (net.Listener, error)
	ReadFile(name string) ([]byte, error)
	NumCPU() int
	GOOS() string
}

// System is the real machine.
type System struct{}

// Getenv reads the environment.
func (System) Getenv(k string) string { return os.Getenv(k) }

// Output runs a command.
func (System) Output(ctx context.Context, name string, args ...string) ([]byte, error) {
	out, err := exec.CommandContext(ctx, name, args...).Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) && len(ee.Stderr) > 0 {
		// The engine's own words say more than "exit status 1".
		err = errors.New(strings.TrimSpace(string(ee.Stderr)))
	}
	return out, err
}

// LookPath finds a program.
func (System) LookPath(f string) (string, error) { return exec.LookPath(f) }

// Listen opens a listener.
func (System) Listen(n, a string) (net.Listener, error) { return net.Listen(n, a) }

// ReadFile reads a file.
func (System) ReadFile(n string) ([]byte, error) { return os.ReadFile(n) }

// NumCPU counts CPUs.
func (System) NumCPU() int { return runtime.NumCPU() }

// GOOS is the operating system.
func (System) GOOS() string { return runtime.GOOS }

// Check is one named check.
type Check struct {
	Name string
	Run  func(ctx context.Context, h Host, o config.Options) Result
}

// Checks returns the checks that apply to o. An existing cluster needs no
// container engine, host port or local resources of ours, but must answer.
func Checks(o config.Options) []Check {
	var cs []Check
	if !o.ExistingCluster() {
		cs = append(cs,
			Check{"engine", CheckEngine},
			Check{"port", CheckPort},
			Check{"resources", CheckResources},
			Check{"inotify", CheckInotify},
		)
	} else {
		cs = append(cs, Check{"cluster", CheckCluster})
	}
	return append(cs, Check{"state", CheckStateDir}, Check{"humanitec", CheckHumanitec})
}

// Engine is the container engine kind will use.
type Engine struct {
	Name    string // docker or podman
	Path    string
	Version string
}

// DetectEngine finds the engine the way kind does: KIND_EXPERIMENTAL_PROVIDER
// if set, else docker, then podman, each recognised by its `-v` banner (so a
// podman-docker alias counts as podman). Then it asks the daemon for its
// version: a client alone is not an engine.
func DetectEngine(ctx context.Context, h Host) (Engine, error) {
	candidates := []string{"docker", "podman"}
	if p := h.Getenv("KIND_EXPERIMENTAL_PROVIDER"); p != "" {
		if p != "docker" && p != "podman" {
			return Engine{}, &config.InputError{
				Msg:  fmt.Sprintf("KIND_EXPERIMENTAL_PROVIDER=%s is not supported", p),
				Hint: "unset it, or set it to docker or podman",
			}
		}
		candidates = []string{p}
	}
	banner := map[string]string{"docker": "Docker version", "podman": "podman version"}
	for _, name := range candidates {
		path, err := h.LookPath(name)
		if err != nil {
			continue
		}
		out, err := h.Output(ctx, name, "-v")
		if err != nil || !strings.HasPrefix(strings.TrimSpace(string(out)), banner[name]) {
			continue
		}
		e := Engine{Name: name, Path: path}
		pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		v, err := ping(pctx, h, name)
		cancel()
		if err != nil && socketDenied(err) {
			// The daemon runs; this user may not talk to it.
			return e, &config.InputError{
				Msg:  fmt.Sprintf("%s runs, but this user may not use its socket: %v", name, firstLine(err.Error())),
				Hint: permissionHint(name),
			}
		}
		if err != nil {
			return e, &config.InputError{
				Msg:  fmt.Sprintf("%s is installed at %s but its engine does not answer: %v", name, path, firstLine(err.Error())),
				Hint: startHint(name, h.GOOS()),
			}
		}
		e.Version = v
		return e, nil
	}
	return Engine{}, &config.InputError{
		Msg:  fmt.Sprintf("no container engine found (looked for %s on PATH)", strings.Join(candidates, " and ")),
		Hint: "install Docker (https://docs.docker.com/get-docker/) or Podman and start it, then run again",
	}
}

func ping(ctx context.Context, h Host, name string) (string, error) {
	format := "{{.Server.Version}}"
	args := []string{"version", "--format", format}
	if name == "podman" {
		// podman version answers without a service; info needs one.
		args = []string{"info", "--format", "{{.Version.Version}}"}
	}
	out, err := h.Output(ctx, name, args...)
	if err != nil {
		return "", err
	}
	v := strings.TrimSpace(string(out))
	if v == "" {
		return "", errors.New("no server version reported")
	}
	return v, nil
}

// socketDenied reports the engine client's "permission denied" on its
// socket: a missing group membership, not a stopped daemon.
func socketDenied(err error) bool {
	s := strings.ToLower(err.Error())
	return strings.Contains(s, "permission denied") && (strings.Contains(s, ".sock") || strings.Contains(s, "socket"))
}

func permissionHint(engine string) string {
	if engine == "podman" {
		return "run podman as the user that owns its socket, or start your own: systemctl --user start podman.socket"
	}
	return "add your user to the docker group: sudo usermod -aG docker $USER, then log out and in again " +
		"(or run `newgrp docker` in this shell); see https://docs.docker.com/engine/install/linux-postinstall/"
}

func startHint(engine, goos string) string {
	switch {
	case engine == "podman" && goos != "linux":
		return "start the Podman machine: podman machine start"
	case engine == "podman":
		return "start Podman's service: systemctl --user start podman.socket"
	case goos == "linux":
		return "start the Docker daemon: sudo systemctl start docker (or start Docker Desktop)"
	default:
		return "start Docker Desktop, wait until it says it is running, then run again"
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// CheckEngine reports the container engine.
func CheckEngine(ctx context.Context, h Host, _ config.Options) Result {
	e, err := DetectEngine(ctx, h)
	if err != nil {
		var ie *config.InputError
		errors.As(err, &ie)
		return Result{Check: "engine", Status: Fail, Found: ie.Msg, Fix: ie.Hint}
	}
	return Result{Check: "engine", Status: OK, Found: fmt.Sprintf("%s %s answers (%s)", e.Name, e.Version, e.Path)}
}

// CheckPort makes sure the host ports kind will map are free, or already
// held by this platform's own cluster: a re-run must not stop at the port
// its first run took.
func CheckPort(ctx context.Context, h Host, o config.Options) Result {
	var found, notes []string
	for _, port := range o.HostPorts() {
		addr := net.JoinHostPort(o.ListenAddress, strconv.Itoa(port))
		l, err := h.Listen("tcp", addr)
		switch {
		case err == nil:
			l.Close()
			found = append(found, addr+" is free")
		case clusterPublishes(ctx, h, o.Name, port):
			found = append(found, fmt.Sprintf("%s is held by cluster %s", addr, o.Name))
		case errors.Is(err, os.ErrPermission):
			// Only root may bind below 1024, and this check runs as the
			// user; the engine binds it: rootful Docker can, a rootless
			// engine only where the sysctl allows it.
			found = append(found, addr+" needs privileges the container engine has, if it runs as root")
			notes = append(notes, fmt.Sprintf("a rootless engine needs `sudo sysctl net.ipv4.ip_unprivileged_port_start=%d` to bind %s", port, addr))
		case port != o.Port:
			return Result{Check: "port", Status: Fail,
				Found: fmt.Sprintf("port %d on %s, where the course's `coder port-forward <workspace> --tcp %d:%d` ends, is in use or not available: %v", port, o.ListenAddress, o.Port, port, err),
				Fix:   fmt.Sprintf("stop what listens on %s in the workspace", addr)}
		default:
			return Result{Check: "port", Status: Fail,
				Found: fmt.Sprintf("port %d on %s is in use or not available: %v", port, o.ListenAddress, err),
				Fix:   fmt.Sprintf("stop what listens on %s, or pass --port %d", addr, suggestPort(o.Port))}
		}
	}
	if ip := net.ParseIP(o.ListenAddress); ip != nil && !ip.IsLoopback() {
		note := fmt.Sprintf("listening on %s opens Gitea to the network", o.ListenAddress)
		if o.GiteaAdminPassword.Reveal() == o.GiteaAdmin {
			note += fmt.Sprintf(", with the course's default admin password %s: give your own with GITEA_ADMIN_PASSWORD, or keep --listen-address %s", o.GiteaAdmin, config.DefaultListenAddress)
		} else {
			note += fmt.Sprintf("; keep --listen-address %s unless others must reach it", config.DefaultListenAddress)
		}
		notes = append(notes, note)
	}
	if len(notes) > 0 {
		return Result{Check: "port", Status: Warn, Found: strings.Join(found, "; "), Fix: strings.Join(notes, "; ")}
	}
	return Result{Check: "port", Status: OK, Found: strings.Join(found, "; ")}
}

// clusterPublishes reports whether the node container of kind cluster name
// publishes host port port. Both engines print published ports as
// "127.0.0.1:8443->30443/tcp".
func clusterPublishes(ctx context.Context, h Host, name string, port int) bool {
	out, err := clusterNodes(ctx, h, name, "{{.Ports}}")
	return err == nil && strings.Contains(out, ":"+strconv.Itoa(port)+"->")
}

// ClusterRunning reports whether a node container of kind cluster name is
// running: what `status` asks the engine, as the state only says what was
// made.
func ClusterRunning(ctx context.Context, h Host, name string) (bool, error) {
	out, err := clusterNodes(ctx, h, name, "{{.Names}}")
	return strings.TrimSpace(out) != "", err
}

// clusterNodes lists the running node containers of kind cluster name in
// format: kind labels them with the cluster's name.
func clusterNodes(ctx context.Context, h Host, name, format string) (string, error) {
	e, err := DetectEngine(ctx, h)
	if err != nil {
		return "", err
	}
	out, err := h.Output(ctx, e.Name, "ps", "--filter", "label=io.x-k8s.kind.cluster="+name, "--format", format)
	if err != nil {
		return "", fmt.Errorf("%s ps: %w", e.Name, err)
	}
	return string(out), nil
}

func suggestPort(p int) int {
	if p == config.DefaultPort {
		return 9443
	}
	return config.DefaultPort
}

// CheckResources compares CPUs and memory with the minimum.
func CheckResources(_ context.Context, h Host, _ config.Options) Result {
	cpus := h.NumCPU()
	memGiB := -1.0
	if b, err := h.ReadFile("/proc/meminfo"); err == nil {
		memGiB = memTotalGiB(string(b))
	}
	found := fmt.Sprintf("%d CPUs", cpus)
	if memGiB >= 0 {
		found += fmt.Sprintf(", %.1f GiB memory", memGiB)
	}
	switch {
	case cpus < MinCPUs || (memGiB >= 0 && memGiB < MinMemoryGiB):
		return Result{Check: "resources", Status: Fail, Found: found + fmt.Sprintf(" (need at least %d CPUs and %d GiB)", MinCPUs, MinMemoryGiB),
			Fix: "give the machine (or Docker Desktop's VM) more CPUs or memory"}
	case memGiB >= 0 && memGiB < RecommendMemGiB:
		return Result{Check: "resources", Status: Warn, Found: found + fmt.Sprintf(" (%d GiB recommended)", RecommendMemGiB),
			Fix: "close other programs; Backstage's build may be slow"}
	}
	return Result{Check: "resources", Status: OK, Found: found}
}

func memTotalGiB(meminfo string) float64 {
	for _, line := range strings.Split(meminfo, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "MemTotal:" {
			kb, err := strconv.ParseFloat(f[1], 64)
			if err == nil {
				return kb / (1024 * 1024)
			}
		}
	}
	return -1
}

// CheckInotify warns about Linux inotify limits too low for a cluster's pods.
func CheckInotify(_ context.Context, h Host, _ config.Options) Result {
	if h.GOOS() != "linux" {
		return Result{Check: "inotify", Status: OK, Found: "not Linux: the engine's VM sets its own limits"}
	}
	read := func(name string) int {
		b, err := h.ReadFile("/proc/sys/fs/inotify/" + name)
		if err != nil {
			return -1
		}
		n, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			return -1
		}
		return n
	}
	w, i := read("max_user_watches"), read("max_user_instances")
	found := fmt.Sprintf("max_user_watches=%d max_user_instances=%d", w, i)
	if (w >= 0 && w < MinInotifyWatches) || (i >= 0 && i < MinInotifyInstances) {
		return Result{Check: "inotify", Status: Warn, Found: found + " (pods may fail with \"too many open files\")",
			Fix: fmt.Sprintf("sudo sysctl fs.inotify.max_user_watches=%d fs.inotify.max_user_instances=%d", MinInotifyWatches, MinInotifyInstances)}
	}
	return Result{Check: "inotify", Status: OK, Found: found}
}

// CheckHumanitec reports whether the orchestrator can be registered with.
func CheckHumanitec(_ context.Context, _ Host, o config.Options) Result {
	if o.SkipHumanitec {
		return Result{Check: "humanitec", Status: Warn,
			Found: "Humanitec is skipped: everything else is built, but Backstage is deployed by the orchestrator and so not in this run",
			Fix:   "set HUMANITEC_ORG and HUMANITEC_TOKEN and run `pocketidp up` again to add it"}
	}
	if o.LocalOrchestrator() {
		return Result{Check: "humanitec", Status: OK,
			Found: "no Humanitec org and token: up installs PocketIDP's local orchestrator (the part of Humanitec's API the course uses) in the cluster and registers with it"}
	}
	var ie *config.InputError
	if errors.As(o.CheckHumanitec(), &ie) {
		return Result{Check: "humanitec", Status: Fail, Found: ie.Msg, Fix: ie.Hint}
	}
	return Result{Check: "humanitec", Status: OK, Found: fmt.Sprintf("org %s, token set (checked against %s when the run starts)", o.HumanitecOrg, o.HumanitecAPIURL)}
}

// Run runs every check that applies and returns the results in order.
func Run(ctx context.Context, h Host, o config.Options) []Result {
	var rs []Result
	for _, c := range Checks(o) {
		rs = append(rs, c.Run(ctx, h, o))
	}
	return rs
}
