package charts

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/yaml"

	"github.com/pocketidp/pocketidp/internal/config"
)

// upstreamDir holds the real chart sources (testdata/upstream/README.md).
var upstreamDir = filepath.Join("testdata", "upstream")

// renderPlatform renders every release of the platform the way `up` would
// install it: the real Traefik and Gitea charts from upstreamDir, the
// built-in registry and runner charts.
func renderPlatform(t *testing.T, p Platform) map[string]Rendered {
	t.Helper()
	r, err := NewRenderer(Options{ChartDir: upstreamDir, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]Rendered{}
	for _, rel := range []Release{Traefik(p), Gitea(p), must(Registry(p)), must(Runner(p))} {
		got, err := r.Render(rel)
		if err != nil {
			t.Fatalf("render %s: %v", rel.Name, err)
		}
		out[rel.Name] = got
	}
	return out
}

// object decodes the rendered object of that kind and name into into.
func object(t *testing.T, r Rendered, kind, name string, into any) {
	t.Helper()
	for _, m := range r.Manifests {
		var head struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal([]byte(m), &head); err != nil {
			t.Fatalf("%s: a manifest does not parse: %v\n%s", r.Release, err, m)
		}
		if head.Kind == kind && head.Metadata.Name == name {
			if err := yaml.Unmarshal([]byte(m), into); err != nil {
				t.Fatalf("%s: %s %s: %v", r.Release, kind, name, err)
			}
			return
		}
	}
	t.Fatalf("%s renders no %s %s", r.Release, kind, name)
}

func container(cs []corev1.Container, name string) corev1.Container {
	for _, c := range cs {
		if c.Name == name {
			return c
		}
	}
	return corev1.Container{}
}

func envVar(c corev1.Container, name string) (string, bool) {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value, true
		}
	}
	return "", false
}

// TestRealChartsRender renders the platform's charts with PocketIDP's
// values and checks, in the rendered objects, what a real cluster needs.
func TestRealChartsRender(t *testing.T) {
	p := testPlatform()
	rendered := renderPlatform(t, p)

	t.Run("traefik serves websecure on node port 30443 with our certificate", func(t *testing.T) {
		var svc corev1.Service
		object(t, rendered[TraefikRelease], "Service", "traefik", &svc)
		if svc.Spec.Type != corev1.ServiceTypeNodePort {
			t.Errorf("Service type %s, want NodePort", svc.Spec.Type)
		}
		var ws *corev1.ServicePort
		for i := range svc.Spec.Ports {
			if svc.Spec.Ports[i].Name == "websecure" {
				ws = &svc.Spec.Ports[i]
			}
		}
		if ws == nil || ws.NodePort != HTTPSNodePort || ws.Port != int32(p.Port) {
			t.Errorf("websecure port = %+v, want port %d on node port %d", ws, p.Port, HTTPSNodePort)
		}
		var store struct {
			Spec TraefikTLSStore `json:"spec"`
		}
		object(t, rendered[TraefikRelease], "TLSStore", "default", &store)
		if store.Spec.DefaultCertificate.SecretName != TLSSecret {
			t.Errorf("default certificate %q, want %q", store.Spec.DefaultCertificate.SecretName, TLSSecret)
		}
		var class networkingv1.IngressClass
		object(t, rendered[TraefikRelease], "IngressClass", "traefik", &class)
		if class.Annotations["ingressclass.kubernetes.io/is-default-class"] != "true" {
			t.Errorf("IngressClass traefik is not the default: %v", class.Annotations)
		}
		if !slices.ContainsFunc(rendered[TraefikRelease].Manifests, func(m string) bool {
			return strings.Contains(m, "kind: CustomResourceDefinition") && strings.Contains(m, "tlsstores.traefik.io")
		}) {
			t.Error("the TLSStore CRD is not rendered")
		}
	})

	t.Run("the course's Gitea host is served on Traefik's pods at its node port", func(t *testing.T) {
		var svc corev1.Service
		object(t, rendered[TraefikRelease], "Service", CourseHostService, &svc)
		var d appsv1.Deployment
		object(t, rendered[TraefikRelease], "Deployment", "traefik", &d)
		for k, v := range svc.Spec.Selector {
			if d.Spec.Template.Labels[k] != v {
				t.Errorf("selector %s=%s does not select Traefik's pods (labels %v)", k, v, d.Spec.Template.Labels)
			}
		}
		if len(svc.Spec.Selector) == 0 || len(svc.Spec.Ports) != 1 {
			t.Fatalf("Service %s: selector %v ports %v", CourseHostService, svc.Spec.Selector, svc.Spec.Ports)
		}
		port := svc.Spec.Ports[0]
		named := slices.ContainsFunc(container(d.Spec.Template.Spec.Containers, "traefik").Ports, func(p corev1.ContainerPort) bool {
			return p.Name == port.TargetPort.StrVal
		})
		if port.Port != config.CourseGiteaPort || !named {
			t.Errorf("port %+v: want %d to a port of the traefik container by name", port, config.CourseGiteaPort)
		}
	})

	t.Run("gitea answers to the course's host under another cluster name", func(t *testing.T) {
		q := testPlatform()
		q.Name = "demo"
		r, err := NewRenderer(Options{ChartDir: upstreamDir, CacheDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		got, err := r.Render(Gitea(q))
		if err != nil {
			t.Fatal(err)
		}
		var ing networkingv1.Ingress
		object(t, got, "Ingress", "gitea", &ing)
		var hosts []string
		for _, r := range ing.Spec.Rules {
			hosts = append(hosts, r.Host)
		}
		if want := []string{"git.localhost", "demo-control-plane", config.CourseGiteaHost}; !slices.Equal(hosts, want) {
			t.Errorf("Ingress hosts %v, want %v", hosts, want)
		}
	})

	t.Run("gitea recreates its pod and pins the image", func(t *testing.T) {
		var d appsv1.Deployment
		object(t, rendered[GiteaRelease], "Deployment", "gitea", &d)
		if d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType || d.Spec.Strategy.RollingUpdate != nil {
			t.Errorf("strategy = %+v, want Recreate (a rolling update deadlocks on the LevelDB queue lock)", d.Spec.Strategy)
		}
		if img := container(d.Spec.Template.Spec.Containers, "gitea").Image; img != "docker.gitea.com/gitea:"+giteaVersion+"-rootless" {
			t.Errorf("gitea image %q", img)
		}
		var ing networkingv1.Ingress
		object(t, rendered[GiteaRelease], "Ingress", "gitea", &ing)
		var hosts []string
		for _, r := range ing.Spec.Rules {
			hosts = append(hosts, r.Host)
		}
		if ing.Spec.IngressClassName == nil || *ing.Spec.IngressClassName != "traefik" || !slices.Equal(hosts, []string{"git.localhost", "5min-idp-control-plane"}) {
			t.Errorf("Ingress class %v hosts %v", ing.Spec.IngressClassName, hosts)
		}
		for _, m := range rendered[GiteaRelease].Manifests {
			if strings.Contains(m, testPassword) {
				t.Error("the admin password is in a rendered manifest")
			}
		}
	})

	t.Run("gitea's init containers run PocketIDP's environment-to-ini", func(t *testing.T) {
		// The chart's init script passes -o, which the environment-to-ini of
		// the pinned Gitea image does not take (gitea-environment-to-ini.sh).
		var d appsv1.Deployment
		object(t, rendered[GiteaRelease], "Deployment", "gitea", &d)
		for _, c := range d.Spec.Template.Spec.InitContainers {
			if !slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool {
				return m.MountPath == giteaEnvToIniPath && m.SubPath == "environment-to-ini"
			}) {
				t.Errorf("init container %s does not mount %s over the image's", c.Name, giteaEnvToIniPath)
			}
		}
		if slices.ContainsFunc(container(d.Spec.Template.Spec.Containers, "gitea").VolumeMounts, func(m corev1.VolumeMount) bool {
			return m.MountPath == giteaEnvToIniPath
		}) {
			t.Error("the gitea container mounts environment-to-ini: it is for the init containers only")
		}
		var vol *corev1.Volume
		for i, v := range d.Spec.Template.Spec.Volumes {
			if v.Name == "environment-to-ini" {
				vol = &d.Spec.Template.Spec.Volumes[i]
			}
		}
		if vol == nil || vol.Secret == nil || vol.Secret.SecretName != GiteaEnvToIniSecret || vol.Secret.DefaultMode == nil || *vol.Secret.DefaultMode&0o111 == 0 {
			t.Errorf("environment-to-ini volume %+v, want Secret %s, executable", vol, GiteaEnvToIniSecret)
		}
		if !slices.ContainsFunc(rendered[GiteaRelease].Manifests, func(m string) bool {
			return strings.Contains(m, "environment-to-ini -o")
		}) {
			t.Error("the chart's init script no longer runs `environment-to-ini -o`: check whether the shim is still needed")
		}
	})

	t.Run("registry keeps port 5001 for itself", func(t *testing.T) {
		var d appsv1.Deployment
		object(t, rendered[RegistryRelease], "Deployment", RegistryRelease, &d)
		c := container(d.Spec.Template.Spec.Containers, "registry")
		addr, _ := envVar(c, "REGISTRY_HTTP_ADDR")
		debug, ok := envVar(c, "REGISTRY_HTTP_DEBUG_ADDR")
		// The image's config puts the debug server on :5001; on the node's
		// network it must go elsewhere, or distribution v3 exits.
		if !ok || strings.HasSuffix(debug, ":5001") || debug == addr {
			t.Errorf("debug server at %q (set %v), registry at %q", debug, ok, addr)
		}
		if lvl, _ := envVar(c, "REGISTRY_LOG_LEVEL"); lvl != "info" {
			t.Errorf("log level %q, want info", lvl)
		}
		if !d.Spec.Template.Spec.HostNetwork || addr != "0.0.0.0:5001" {
			t.Errorf("the registry must listen on the node's 5001: hostNetwork %v addr %q", d.Spec.Template.Spec.HostNetwork, addr)
		}
	})

	t.Run("runner jobs reach the ingress and the registry on their loopback", func(t *testing.T) {
		var ss appsv1.StatefulSet
		object(t, rendered[RunnerRelease], "StatefulSet", RunnerRelease, &ss)
		spec := ss.Spec.Template.Spec
		for _, want := range []struct{ name, cmd string }{
			{"forward-ingress", fmt.Sprintf("tcpsvd -c 64 127.0.0.1 %d nc traefik.traefik.svc.cluster.local %d", p.Port, p.Port)},
			{"forward-registry", "tcpsvd -c 64 127.0.0.1 5001 nc registry.registry.svc.cluster.local 5000"},
		} {
			c := container(spec.InitContainers, want.name)
			if got := strings.Join(c.Command, " "); got != want.cmd || c.RestartPolicy == nil || *c.RestartPolicy != corev1.ContainerRestartPolicyAlways {
				t.Errorf("%s: command %q (want %q), restartPolicy %v", want.name, got, want.cmd, c.RestartPolicy)
			}
			// The kubelet dials a tcpSocket probe from the node's network:
			// only a probe run inside the pod sees its loopback.
			port := strings.Fields(want.cmd)[4]
			if pr := c.StartupProbe; pr == nil || pr.TCPSocket != nil || pr.Exec == nil ||
				!strings.Contains(strings.Join(pr.Exec.Command, " "), " 127.0.0.1:"+port+" ") {
				t.Errorf("%s: startup probe %+v, want an exec probe of 127.0.0.1:%s inside the pod", want.name, pr, port)
			}
		}
		dind := container(spec.InitContainers, "dind")
		if dind.SecurityContext == nil || dind.SecurityContext.Privileged == nil || !*dind.SecurityContext.Privileged {
			t.Error("DinD is not privileged")
		}
		if cmd := strings.Join(dind.Command, " "); !strings.Contains(cmd, "--mtu=") || !strings.Contains(cmd, "/sys/class/net/eth0/mtu") {
			t.Errorf("DinD does not take the pod network's MTU: %q", cmd)
		}
		if dind.Resources.Requests.Memory().Value() < 1<<30 || dind.Resources.Requests.Cpu().MilliValue() < 500 {
			t.Errorf("DinD requests %v, too little for a Backstage build", dind.Resources.Requests)
		}
		if dind.StartupProbe == nil {
			t.Error("DinD has no startup probe: act_runner would start before its daemon answers")
		}
		runner := container(spec.Containers, "runner")
		if url, _ := envVar(runner, "GITEA_INSTANCE_URL"); url != "https://git.localhost:8443" {
			t.Errorf("runner instance URL %q", url)
		}
		if host, _ := envVar(runner, "DOCKER_HOST"); host != dindHost {
			t.Errorf("runner DOCKER_HOST %q", host)
		}
		var cm corev1.ConfigMap
		object(t, rendered[RunnerRelease], "ConfigMap", RunnerRelease+"-config", &cm)
		var cfg ActRunnerConfig
		if err := yaml.Unmarshal([]byte(cm.Data["config.yaml"]), &cfg); err != nil || cfg.Container.Network != "host" {
			t.Errorf("act_runner config: network %q, %v", cfg.Container.Network, err)
		}
		for _, m := range rendered[RunnerRelease].Manifests {
			if strings.Contains(m, testToken) {
				t.Error("the registration token is in a rendered manifest")
			}
		}
	})
}

// TestChartDirSourceBuild: a --chart-dir without the pinned archive but
// with the chart's unreleased source build (0.0.0) uses it; another
// version of the chart is never taken for the pinned one.
func TestChartDirSourceBuild(t *testing.T) {
	r, err := NewRenderer(Options{ChartDir: upstreamDir, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ch, err := r.loadChart(DefaultSources().Gitea)
	if err != nil || ch.Metadata.Version != "0.0.0" {
		t.Fatalf("load pinned gitea from the source build: %v", err)
	}
	// Traefik 41.3.0 is there exactly; 41.2.0 must not be taken for it.
	other := Source{Repo: "http://127.0.0.1:1", Chart: "traefik", Version: "41.2.0"}
	if _, err := r.loadChart(other); err == nil {
		t.Fatal("traefik 41.2.0 loaded from a dir that holds only 41.3.0")
	}
}
