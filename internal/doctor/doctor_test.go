package doctor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/pocketidp/pocketidp/internal/config"
	"github.com/pocketidp/pocketidp/internal/secret"
)

// fakeHost answers from tables; a command not in out fails.
type fakeHost struct {
	env   map[string]string
	paths map[string]string
	out   map[string]string // "docker -v" -> output
	errs  map[string]error
	files map[string]string
	busy  map[string]bool
	cpus  int
	goos  string
}

func (f *fakeHost) Getenv(k string) string { return f.env[k] }
func (f *fakeHost) LookPath(n string) (string, error) {
	if p, ok := f.paths[n]; ok {
		return p, nil
	}
	return "", errors.New("not found")
}
func (f *fakeHost) Output(_ context.Context, name string, args ...string) ([]byte, error) {
	key := strings.Join(append([]string{name}, args...), " ")
	if err, ok := f.errs[key]; ok {
		return nil, err
	}
	if o, ok := f.out[key]; ok {
		return []byte(o), nil
	}
	return nil, fmt.Errorf("unexpected command %q", key)
}
func (f *fakeHost) Listen(_, addr string) (net.Listener, error) {
	if f.busy[addr] {
		return nil, errors.New("bind: address already in use")
	}
	return net.Listen("tcp", "127.0.0.1:0")
}
func (f *fakeHost) ReadFile(n string) ([]byte, error) {
	if c, ok := f.files[n]; ok {
		return []byte(c), nil
	}
	return nil, errors.New("no such file")
}
func (f *fakeHost) NumCPU() int  { return f.cpus }
func (f *fakeHost) GOOS() string { return f.goos }

func healthy() *fakeHost {
	return &fakeHost{
		env:   map[string]string{},
		paths: map[string]string{"docker": "/usr/bin/docker"},
		out: map[string]string{
			"docker -v": "Docker version 28.2.2, build e6534b4\n",
			"docker version --format {{.Server.Version}}": "28.2.2\n",
		},
		errs: map[string]error{},
		files: map[string]string{
			"/proc/meminfo":                           "MemTotal:       16384000 kB\n",
			"/proc/sys/fs/inotify/max_user_watches":   "524288\n",
			"/proc/sys/fs/inotify/max_user_instances": "512\n",
		},
		busy: map[string]bool{},
		cpus: 4,
		goos: "linux",
	}
}

func opts() config.Options {
	o := config.Defaults()
	o.HumanitecOrg = "my-org"
	o.HumanitecToken = secret.New("tok-123456")
	return o
}

func TestChecks(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(h *fakeHost, o *config.Options)
		check  string
		status Status
		found  string
		fix    string
	}{
		{"engine ok", nil, "engine", OK, "docker 28.2.2 answers", ""},
		{"no engine", func(h *fakeHost, _ *config.Options) { h.paths = nil }, "engine", Fail, "no container engine found (looked for docker and podman", "install Docker"},
		{"daemon down", func(h *fakeHost, _ *config.Options) {
			h.errs["docker version --format {{.Server.Version}}"] = errors.New("Cannot connect to the Docker daemon at unix:///var/run/docker.sock")
		}, "engine", Fail, "docker is installed at /usr/bin/docker but its engine does not answer: Cannot connect", "sudo systemctl start docker"},
		{"podman alias is podman", func(h *fakeHost, _ *config.Options) {
			h.out["docker -v"] = "podman version 5.2.0"
			h.paths["podman"] = "/usr/bin/podman"
			h.out["podman -v"] = "podman version 5.2.0"
			h.out["podman info --format {{.Version.Version}}"] = "5.2.0"
		}, "engine", OK, "podman 5.2.0 answers", ""},
		{"provider env", func(h *fakeHost, _ *config.Options) { h.env["KIND_EXPERIMENTAL_PROVIDER"] = "nerdctl" }, "engine", Fail, "KIND_EXPERIMENTAL_PROVIDER=nerdctl is not supported", "docker or podman"},
		{"port free", nil, "port", OK, "127.0.0.1:8443 is free", ""},
		{"port busy", func(h *fakeHost, _ *config.Options) { h.busy["127.0.0.1:8443"] = true }, "port", Fail, "port 8443 on 127.0.0.1 is in use", "--port 9443"},
		{"custom port busy", func(h *fakeHost, o *config.Options) { o.Port = 9443; h.busy["127.0.0.1:9443"] = true }, "port", Fail, "port 9443", "--port 8443"},
		{"resources ok", nil, "resources", OK, "4 CPUs, 15.6 GiB memory", ""},
		{"one cpu", func(h *fakeHost, _ *config.Options) { h.cpus = 1 }, "resources", Fail, "need at least 2 CPUs", "more CPUs"},
		{"little memory", func(h *fakeHost, _ *config.Options) { h.files["/proc/meminfo"] = "MemTotal: 6291456 kB" }, "resources", Warn, "6.0 GiB memory (8 GiB recommended)", ""},
		{"inotify low", func(h *fakeHost, _ *config.Options) { h.files["/proc/sys/fs/inotify/max_user_instances"] = "128" }, "inotify", Warn, "max_user_instances=128", "sudo sysctl"},
		{"inotify mac", func(h *fakeHost, _ *config.Options) { h.goos = "darwin" }, "inotify", OK, "not Linux", ""},
		{"humanitec ok", nil, "humanitec", OK, "org my-org, token set", ""},
		{"no token", func(_ *fakeHost, o *config.Options) { o.HumanitecToken = secret.Value{} }, "humanitec", Fail, "HUMANITEC_TOKEN is not set", "--humanitec-token-file"},
		{"skipped", func(_ *fakeHost, o *config.Options) { o.SkipHumanitec = true }, "humanitec", Warn, "Backstage is deployed by the orchestrator", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, o := healthy(), opts()
			if tt.mutate != nil {
				tt.mutate(h, &o)
			}
			var got *Result
			for _, r := range Run(context.Background(), h, o) {
				if r.Check == tt.check {
					got = &r
				}
			}
			if got == nil {
				t.Fatalf("check %s did not run", tt.check)
			}
			if got.Status != tt.status || !strings.Contains(got.Found, tt.found) || !strings.Contains(got.Fix, tt.fix) {
				t.Fatalf("got %+v, want status %s found ~%q fix ~%q", *got, tt.status, tt.found, tt.fix)
			}
			if (got.Status == Fail) != (got.Err() != nil) || (got.Status == Fail && !config.IsInput(got.Err())) {
				t.Fatalf("Err() = %v for status %s", got.Err(), got.Status)
			}
		})
	}
}

func TestExistingClusterNeedsNoEngineOrPort(t *testing.T) {
	o := opts()
	o.Kubeconfig = "/tmp/kubeconfig"
	var names []string
	for _, c := range Checks(o) {
		names = append(names, c.Name)
	}
	if strings.Join(names, ",") != "humanitec" {
		t.Fatalf("checks %v", names)
	}
}
