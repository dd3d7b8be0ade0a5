package cluster

import (
	"bytes"
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"testing"
)

func TestParseInspect(t *testing.T) {
	// Trimmed from `docker container inspect` and `podman container inspect`.
	docker := `[{"Id":"abc","State":{"Status":"running","Running":true},
	  "HostConfig":{"PortBindings":{"30443/tcp":[{"HostIp":"127.0.0.1","HostPort":"8443"}],
	  "6443/tcp":[{"HostIp":"127.0.0.1","HostPort":"41234"}],"53/udp":[{"HostIp":"","HostPort":"53"}]}}}]`
	podman := `[{"Id":"def","State":{"Status":"exited","Running":false},
	  "HostConfig":{"PortBindings":{"30443/tcp":[{"HostIp":"0.0.0.0","HostPort":"9443"}]}}}]`
	tests := []struct {
		name string
		in   string
		want Container
	}{
		{"docker", docker, Container{Running: true, Ports: map[int][]HostPort{
			30443: {{IP: "127.0.0.1", Port: 8443}}, 6443: {{IP: "127.0.0.1", Port: 41234}}}}},
		{"podman stopped", podman, Container{Running: false, Ports: map[int][]HostPort{30443: {{IP: "0.0.0.0", Port: 9443}}}}},
	}
	for _, tt := range tests {
		got, err := parseInspect([]byte(tt.in))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
	}
	if _, err := parseInspect([]byte("[]")); !errors.Is(err, ErrNotFound) {
		t.Errorf("empty inspect = %v, want ErrNotFound", err)
	}
	if _, err := parseInspect([]byte("not json")); err == nil {
		t.Error("garbage inspect output accepted")
	}
	for _, msg := range []string{"Error: No such container: x", "Error: no such object: x", "Error: no container with name or ID \"x\" found: no such container"} {
		if !isNoSuchContainer(msg) {
			t.Errorf("%q not recognised as a missing container", msg)
		}
	}
}

func TestHostPortString(t *testing.T) {
	for hp, want := range map[HostPort]string{
		{IP: "127.0.0.1", Port: 8443}: "127.0.0.1:8443",
		{IP: "", Port: 8443}:          "0.0.0.0:8443",
		{IP: "::1", Port: 8443}:       "[::1]:8443",
	} {
		if got := hp.String(); got != want {
			t.Errorf("%#v = %s, want %s", hp, got, want)
		}
	}
}

// kind's status lines become progress with a fraction; its trace levels
// stay out of the log.
func TestKindLogger(t *testing.T) {
	var buf bytes.Buffer
	type prog struct {
		cur, total int
		msg        string
	}
	var got []prog
	l := newKindLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})),
		func(c, tot int, m string) { got = append(got, prog{c, tot, m}) })
	l.V(0).Infof("Creating cluster %q ...\n", "5min-idp")
	l.V(0).Infof(" • %s  ...\n", "Ensuring node image (kindest/node:v1.37.0) 🖼")
	l.V(0).Infof(" ✓ %s\n", "Ensuring node image (kindest/node:v1.37.0) 🖼")
	l.V(0).Infof(" • %s  ...\n", "Preparing nodes 📦")
	l.V(1).Info("debug detail")
	l.V(3).Info("Running: docker run --secret-stuff")
	l.Warn("cgroup v1 is deprecated")

	want := []prog{{1, kindPhases, "Ensuring node image (kindest/node:v1.37.0) 🖼"}, {2, kindPhases, "Preparing nodes 📦"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("progress = %+v, want %+v", got, want)
	}
	out := buf.String()
	for _, s := range []string{`Creating cluster \"5min-idp\"`, "level=DEBUG msg=\"debug detail\"", "level=WARN msg=\"cgroup v1 is deprecated\""} {
		if !strings.Contains(out, s) {
			t.Errorf("log lacks %s:\n%s", s, out)
		}
	}
	if strings.Contains(out, "docker run") {
		t.Errorf("trace level leaked into the log:\n%s", out)
	}
}
