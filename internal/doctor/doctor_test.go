package doctor

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pocketidp/pocketidp/internal/config"
	"github.com/pocketidp/pocketidp/internal/doctor/doctortest"
	"github.com/pocketidp/pocketidp/internal/secret"
)

func opts() config.Options {
	o := config.Defaults()
	o.HumanitecOrg = "my-org"
	o.HumanitecToken = secret.New("tok-123456")
	return o
}

func TestChecks(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(h *doctortest.Host, o *config.Options)
		check  string
		status Status
		found  string
		fix    string
	}{
		{"engine ok", nil, "engine", OK, "docker 28.2.2 answers", ""},
		{"no engine", func(h *doctortest.Host, _ *config.Options) { h.Paths = nil }, "engine", Fail, "no container engine found (looked for docker and podman", "install Docker"},
		{"daemon down", func(h *doctortest.Host, _ *config.Options) {
			h.DaemonDown()
		}, "engine", Fail, "docker is installed at /usr/bin/docker but its engine does not answer: Cannot connect", "sudo systemctl start docker"},
		{"socket permission denied", func(h *doctortest.Host, _ *config.Options) {
			h.SocketDenied()
		}, "engine", Fail, "docker runs, but this user may not use its socket", "sudo usermod -aG docker $USER"},
		{"podman alias is podman", func(h *doctortest.Host, _ *config.Options) {
			h.Out["docker -v"] = "podman version 5.2.0"
			h.Paths["podman"] = "/usr/bin/podman"
			h.Out["podman -v"] = "podman version 5.2.0"
			h.Out["podman info --format {{.Version.Version}}"] = "5.2.0"
		}, "engine", OK, "podman 5.2.0 answers", ""},
		{"provider env", func(h *doctortest.Host, _ *config.Options) { h.Env["KIND_EXPERIMENTAL_PROVIDER"] = "nerdctl" }, "engine", Fail, "KIND_EXPERIMENTAL_PROVIDER=nerdctl is not supported", "docker or podman"},
		{"port free", nil, "port", OK, "127.0.0.1:8443 is free", ""},
		{"port busy", func(h *doctortest.Host, _ *config.Options) { h.Busy["127.0.0.1:8443"] = true }, "port", Fail, "port 8443 on 127.0.0.1 is in use", "--port 9443"},
		{"custom port busy", func(h *doctortest.Host, o *config.Options) { o.Port = 9443; h.Busy["127.0.0.1:9443"] = true }, "port", Fail, "port 9443", "--port 8443"},
		{"port held by this cluster", func(h *doctortest.Host, _ *config.Options) {
			h.Busy["127.0.0.1:8443"] = true
			h.Out["docker ps --filter label=io.x-k8s.kind.cluster=5min-idp --format {{.Ports}}"] = "127.0.0.1:8443->30443/tcp, 127.0.0.1:41235->6443/tcp\n"
		}, "port", OK, "127.0.0.1:8443 is held by cluster 5min-idp", ""},
		{"port not held by this cluster", func(h *doctortest.Host, _ *config.Options) {
			h.Busy["127.0.0.1:8443"] = true
			h.Out["docker ps --filter label=io.x-k8s.kind.cluster=5min-idp --format {{.Ports}}"] = "127.0.0.1:18443->30443/tcp\n"
		}, "port", Fail, "port 8443 on 127.0.0.1 is in use", "--port 9443"},
		{"Coder: the forward port too", func(_ *doctortest.Host, o *config.Options) { o.Coder = true }, "port", OK, "127.0.0.1:8443 is free; 127.0.0.1:443 is free", ""},
		{"Coder: 443 needs root", func(h *doctortest.Host, o *config.Options) {
			o.Coder = true
			h.Privileged = map[string]bool{"127.0.0.1:443": true}
		}, "port", Warn, "127.0.0.1:443 needs privileges the container engine has", "ip_unprivileged_port_start=443"},
		{"Coder: forward port busy", func(h *doctortest.Host, o *config.Options) { o.Coder = true; h.Busy["127.0.0.1:443"] = true }, "port", Fail, "--tcp 8443:443` ends, is in use", "stop what listens on 127.0.0.1:443"},
		{"every interface exposes the default password", func(_ *doctortest.Host, o *config.Options) { o.ListenAddress = "0.0.0.0" }, "port", Warn,
			"0.0.0.0:8443 is free", "opens Gitea to the network, with the course's default admin password 5minadmin"},
		{"resources ok", nil, "resources", OK, "4 CPUs, 15.6 GiB memory", ""},
		{"one cpu", func(h *doctortest.Host, _ *config.Options) { h.CPUs = 1 }, "resources", Fail, "need at least 2 CPUs", "more CPUs"},
		{"little memory", func(h *doctortest.Host, _ *config.Options) { h.Files["/proc/meminfo"] = "MemTotal: 6291456 kB" }, "resources", Warn, "6.0 GiB memory (8 GiB recommended)", ""},
		{"inotify low", func(h *doctortest.Host, _ *config.Options) {
			h.Files["/proc/sys/fs/inotify/max_user_instances"] = "128"
		}, "inotify", Warn, "max_user_instances=128", "sudo sysctl"},
		{"inotify mac", func(h *doctortest.Host, _ *config.Options) { h.OS = "darwin" }, "inotify", OK, "not Linux", ""},
		{"humanitec ok", nil, "humanitec", OK, "org my-org, token set", ""},
		{"no token", func(_ *doctortest.Host, o *config.Options) { o.HumanitecToken = secret.Value{} }, "humanitec", Fail, "HUMANITEC_TOKEN is not set", "--humanitec-token-file"},
		{"skipped", func(_ *doctortest.Host, o *config.Options) { o.SkipHumanitec = true }, "humanitec", Warn, "Backstage is deployed by the orchestrator", ""},
		{"no credentials: the local orchestrator", func(_ *doctortest.Host, o *config.Options) { o.HumanitecOrg, o.HumanitecToken = "", secret.Value{} },
			"humanitec", OK, "installs PocketIDP's local orchestrator", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, o := doctortest.Healthy(), opts()
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
	if strings.Join(names, ",") != "cluster,state,humanitec" {
		t.Fatalf("checks %v", names)
	}
}

// TestInputChecks: a kubeconfig that cannot be read, and a state dir that
// cannot be written, fail the doctor, so `up` stops before saving them
// (issue 14, points 4 and 15).
func TestInputChecks(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "a-file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	readOnly := filepath.Join(dir, "read-only")
	if err := os.Mkdir(readOnly, 0o500); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		// Root writes past mode bits (CI runs as root): /proc takes no
		// new files from anyone.
		readOnly = "/proc/self"
	}
	tests := []struct {
		name  string
		check func(context.Context, Host, config.Options) Result
		set   func(*config.Options)
		found string
		fix   string
	}{
		{"missing kubeconfig", CheckCluster, func(o *config.Options) { o.Kubeconfig = filepath.Join(dir, "nope") },
			"cannot be read", `--kubeconfig ""`},
		{"state dir is a file", CheckStateDir, func(o *config.Options) { o.StateDir = filepath.Join(file, "state") },
			"is a file", "--state-dir"},
		{"state dir not writable", CheckStateDir, func(o *config.Options) { o.StateDir = filepath.Join(readOnly, "state") },
			"cannot be written", "--state-dir"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := opts()
			tt.set(&o)
			r := tt.check(context.Background(), nil, o)
			if r.Status != Fail || !strings.Contains(r.Found, tt.found) || !strings.Contains(r.Fix, tt.fix) {
				t.Errorf("got %+v, want a failure saying %q with a fix naming %q", r, tt.found, tt.fix)
			}
		})
	}
	o := opts()
	o.StateDir = filepath.Join(dir, "new", "state")
	if r := CheckStateDir(context.Background(), nil, o); r.Status != OK {
		t.Errorf("a state dir that does not exist yet under a writable folder: %+v", r)
	}
}
