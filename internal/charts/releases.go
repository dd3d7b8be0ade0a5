package charts

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"

	"github.com/pocketidp/pocketidp/internal/cluster"
	"github.com/pocketidp/pocketidp/internal/config"
	"github.com/pocketidp/pocketidp/internal/secret"
)

// The releases of the platform: names, namespaces and where their charts
// come from. Chart versions are pinned; a change here is a reviewed change.
const (
	TraefikRelease, TraefikNamespace   = config.IngressServiceName, config.IngressNamespace
	GiteaRelease, GiteaNamespace       = "gitea", "gitea"
	RegistryRelease, RegistryNamespace = "registry", "registry"
	RunnerRelease, RunnerNamespace     = "runner", "gitea-runner"
	AgentRelease, AgentNamespace       = "humanitec-agent", "humanitec-agent"

	// TLSSecret is the leaf certificate Secret the TLS step makes in the
	// Traefik namespace; Traefik serves it as its default certificate.
	TLSSecret = "pocketidp-tls"
	// GiteaAdminSecret holds the Gitea admin's username and password.
	GiteaAdminSecret = "gitea-admin"
	// GiteaEnvToIniSecret holds the environment-to-ini that Gitea's init
	// containers run (gitea-environment-to-ini.sh).
	GiteaEnvToIniSecret = "gitea-env-to-ini"
	// RunnerTokenSecret holds the runner registration token.
	RunnerTokenSecret = "runner-token"
	// CASecret holds PocketIDP's CA certificate for the runner to trust.
	CASecret = "pocketidp-ca"

	// RegistryHost is the registry's name everywhere: in CI jobs (the
	// upstream Backstage workflow pushes localhost:5001/backstage:<tag>)
	// and on the nodes (which pull that same reference).
	RegistryHost = "localhost:5001"
	registryPort = config.RegistryPort
	// registryDebugAddr is where the registry's debug server goes: off our
	// port (the image's config puts it on :5001), on the node's loopback.
	registryDebugAddr = "127.0.0.1:5002"
	// registryServicePort is the registry Service's port inside the cluster.
	registryServicePort = 5000

	// Node ports kind maps to the host (item 1 maps 30443 to --port).
	HTTPSNodePort = config.IngressHTTPSNodePort
	HTTPNodePort  = config.IngressHTTPNodePort

	// Images the releases add next to their charts' own.
	registryImage = "registry:3.0.0"
	// giteaVersion is Gitea's image tag (the chart adds -rootless).
	giteaVersion = "1.27.3"
	// The runner pod's images: act_runner, the Docker daemon its jobs run
	// on, and busybox for the loopback forwarders (tcpsvd and nc).
	actRunnerImage = "docker.io/gitea/act_runner:0.2.13"
	dindImage      = "docker.io/library/docker:28.5.2-dind"
	busyboxImage   = "docker.io/library/busybox:1.38.0"
)

//go:embed all:registrychart
var registryChartFiles embed.FS

// giteaEnvToIni is environment-to-ini with the flags the Gitea chart's init
// script passes, for the Gitea version PocketIDP pins (see the script).
//
//go:embed gitea-environment-to-ini.sh
var giteaEnvToIni string

// giteaEnvToIniPath is where Gitea's images have environment-to-ini.
const giteaEnvToIniPath = "/usr/local/bin/environment-to-ini"

// embeddedChart is a chart's folder inside the embedded files.
func embeddedChart(files embed.FS, dir string) fs.FS {
	sub, err := fs.Sub(files, dir)
	if err != nil {
		panic(err) // the folder is compiled in: cannot be missing
	}
	return sub
}

// Sources are the charts of the platform's releases.
type Sources struct {
	Traefik, Gitea, Runner, Agent, Registry Source
}

// DefaultSources are the pinned upstream charts, and PocketIDP's own
// registry and runner charts, built into the binary (every template they
// rely on is ours and tested).
func DefaultSources() Sources {
	return Sources{
		Traefik:  Source{Repo: "https://traefik.github.io/charts", Chart: "traefik", Version: "41.3.0"},
		Gitea:    Source{Repo: "https://dl.gitea.com/charts", Chart: "gitea", Version: "12.7.0"},
		Runner:   Source{Chart: "pocketidp-runner", Version: "0.1.0", Embedded: embeddedChart(runnerChartFiles, "runnerchart")},
		Agent:    Source{Repo: "oci://ghcr.io/humanitec/charts", Chart: "humanitec-agent", Version: "1.2.10"},
		Registry: Source{Chart: "pocketidp-registry", Version: "0.1.0", Embedded: embeddedChart(registryChartFiles, "registrychart")},
	}
}

// withDefaults fills the sources left zero.
func (s Sources) withDefaults() Sources {
	d := DefaultSources()
	for _, p := range []struct{ have, def *Source }{
		{&s.Traefik, &d.Traefik}, {&s.Gitea, &d.Gitea}, {&s.Runner, &d.Runner},
		{&s.Agent, &d.Agent}, {&s.Registry, &d.Registry},
	} {
		if p.have.Chart == "" {
			*p.have = *p.def
		}
	}
	return s
}

// Platform is what the releases are made from: the install's options and
// what earlier steps produced.
type Platform struct {
	// Name is the cluster name; the kind node is <Name>-control-plane.
	Name string
	// Port is the host's HTTPS port: browsers, pods and CI jobs all use
	// https://git.localhost:<Port>.
	Port int
	// GiteaAdmin and GiteaAdminPassword are the Gitea admin's login.
	GiteaAdmin         string
	GiteaAdminPassword secret.Value
	// AllowLocalMigrations lets Gitea migrate from private and loopback
	// hosts too (a Backstage repository served on the local network).
	AllowLocalMigrations bool
	// RunnerToken is the runner registration token from Gitea's API.
	RunnerToken secret.Value
	// CACert is PocketIDP's CA certificate (PEM), which signed the ingress
	// certificate: the runner and CI jobs trust it.
	CACert []byte
	// HumanitecOrg and AgentPrivateKey configure the Humanitec agent.
	HumanitecOrg    string
	AgentPrivateKey secret.Value
	// JobEnv is more environment for CI jobs: with PocketIDP's local
	// orchestrator, its API prefix under the names its clients read. Go
	// tools in the jobs then also trust PocketIDP's CA (SSL_CERT_DIR).
	JobEnv map[string]string
	// Sources override the charts (tests point them at a local repository);
	// zero fields mean DefaultSources.
	Sources Sources
}

func (p Platform) giteaHost() string { return config.GiteaHost }

// GiteaURL is Gitea's address for browsers, pods and CI jobs alike, with
// the trailing slash Gitea's ROOT_URL wants.
func (p Platform) GiteaURL() string { return fmt.Sprintf("https://%s:%d/", p.giteaHost(), p.Port) }

func (p Platform) nodeName() string { return config.NodeName(p.Name) }

// --- Traefik ---

// TraefikValues are the values of the traefik chart that PocketIDP sets.
type TraefikValues struct {
	IngressClass TraefikIngressClass        `json:"ingressClass"`
	Ports        TraefikPorts               `json:"ports"`
	Service      TraefikService             `json:"service"`
	TLSStore     map[string]TraefikTLSStore `json:"tlsStore"`
	// ExtraObjects are rendered with the chart: the course host's Service.
	ExtraObjects []map[string]any `json:"extraObjects,omitempty"`
}

// TraefikIngressClass makes Traefik the cluster's default IngressClass.
type TraefikIngressClass struct {
	Enabled        bool   `json:"enabled"`
	IsDefaultClass bool   `json:"isDefaultClass"`
	Name           string `json:"name"`
}

// TraefikPorts are the entry points PocketIDP exposes.
type TraefikPorts struct {
	Web       TraefikPort `json:"web"`
	Websecure TraefikPort `json:"websecure"`
}

// TraefikPort is one entry point's Service port and node port.
type TraefikPort struct {
	ExposedPort int `json:"exposedPort"`
	NodePort    int `json:"nodePort"`
}

// TraefikService sets the Service's spec.
type TraefikService struct {
	Spec TraefikServiceSpec `json:"spec"`
}

// TraefikServiceSpec is the part of the Service spec PocketIDP sets.
type TraefikServiceSpec struct {
	Type string `json:"type"`
}

// TraefikTLSStore is a TLSStore; the one named "default" holds the default
// certificate.
type TraefikTLSStore struct {
	DefaultCertificate TraefikCertificate `json:"defaultCertificate"`
}

// TraefikCertificate names a TLS Secret in Traefik's namespace.
type TraefikCertificate struct {
	SecretName string `json:"secretName"`
}

// Traefik is the ingress: websecure on node port 30443 (kind maps it to
// the host's --port) and web on 30080, serving the TLS step's certificate
// by default, and the default IngressClass.
func Traefik(p Platform) Release {
	return Release{
		Name: TraefikRelease, Namespace: TraefikNamespace, Source: p.Sources.withDefaults().Traefik,
		Values: TraefikValues{
			IngressClass: TraefikIngressClass{Enabled: true, IsDefaultClass: true, Name: config.IngressClass},
			Ports: TraefikPorts{
				Web: TraefikPort{ExposedPort: 80, NodePort: HTTPNodePort},
				// The Service listens on the host's port too: CoreDNS sends
				// git.localhost to this Service, so https://git.localhost:<port>
				// works the same inside the cluster as in a browser.
				Websecure: TraefikPort{ExposedPort: p.Port, NodePort: HTTPSNodePort},
			},
			Service:      TraefikService{Spec: TraefikServiceSpec{Type: "NodePort"}},
			TLSStore:     map[string]TraefikTLSStore{"default": {DefaultCertificate: TraefikCertificate{SecretName: TLSSecret}}},
			ExtraObjects: []map[string]any{courseHostService()},
		},
	}
}

// CourseHostService is the Service that serves config.CourseGiteaHost's
// port (the node port the course's Backstage config names) inside the
// cluster: CoreDNS sends that name here. Through the node itself it would
// work only on a kind cluster named 5min-idp.
const CourseHostService = "course-host"

// CourseHostServiceHost is CourseHostService's DNS name.
func CourseHostServiceHost() string {
	return CourseHostService + "." + TraefikNamespace + ".svc.cluster.local"
}

// courseHostService is a ClusterIP Service on Traefik's pods: the chart's
// selector labels (traefik.labelselector: the chart name, and
// <release>-<namespace>), port config.CourseGiteaPort to the websecure
// entry point.
func courseHostService() map[string]any {
	return map[string]any{
		"apiVersion": "v1",
		"kind":       "Service",
		"metadata": map[string]any{
			"name":      CourseHostService,
			"namespace": TraefikNamespace,
			"labels":    map[string]any{"app.kubernetes.io/part-of": config.ManagedBy},
		},
		"spec": map[string]any{
			"type": "ClusterIP",
			"selector": map[string]any{
				"app.kubernetes.io/name":     "traefik",
				"app.kubernetes.io/instance": TraefikRelease + "-" + TraefikNamespace,
			},
			"ports": []any{map[string]any{
				"name": "websecure", "port": config.CourseGiteaPort, "targetPort": "websecure", "protocol": "TCP",
			}},
		},
	}
}

// --- Gitea ---

// GiteaValues are the values of the official gitea chart PocketIDP sets.
type GiteaValues struct {
	Image         GiteaImage    `json:"image"`
	Strategy      GiteaStrategy `json:"strategy"`
	Gitea         GiteaSection  `json:"gitea"`
	Ingress       GiteaIngress  `json:"ingress"`
	Persistence   Toggle        `json:"persistence"`
	PostgreSQL    Toggle        `json:"postgresql"`
	PostgreSQLHA  Toggle        `json:"postgresql-ha"`
	Valkey        Toggle        `json:"valkey"`
	ValkeyCluster Toggle        `json:"valkey-cluster"`
	Test          Toggle        `json:"test"`
	// ExtraVolumes and ExtraInitVolumeMounts put giteaEnvToIni over the
	// image's environment-to-ini in the init containers.
	ExtraVolumes          []corev1.Volume      `json:"extraVolumes"`
	ExtraInitVolumeMounts []corev1.VolumeMount `json:"extraInitVolumeMounts"`
}

// GiteaImage pins Gitea's version, whatever the chart's appVersion says:
// the version the test bed runs (scripts/testbin/gitea).
type GiteaImage struct {
	Tag      string `json:"tag"`
	Rootless bool   `json:"rootless"`
}

// GiteaStrategy is the Deployment's update strategy.
type GiteaStrategy struct {
	Type string `json:"type"`
}

// Toggle turns a chart part or subchart on or off.
type Toggle struct {
	Enabled bool `json:"enabled"`
}

// GiteaSection is the chart's gitea: key.
type GiteaSection struct {
	Admin          GiteaAdmin        `json:"admin"`
	Config         GiteaConfig       `json:"config"`
	PodAnnotations map[string]string `json:"podAnnotations,omitempty"`
}

// GiteaAdmin takes the admin from an existing Secret (keys username and
// password), so the password is not a plain value of the release.
type GiteaAdmin struct {
	ExistingSecret string `json:"existingSecret"`
	Email          string `json:"email"`
	// PasswordMode keepUpdated resets the password to the Secret's on every
	// start: a changed GITEA_ADMIN_PASSWORD takes effect.
	PasswordMode string `json:"passwordMode"`
}

// GiteaConfig is app.ini, section by section.
type GiteaConfig struct {
	Server     GiteaServer     `json:"server"`
	Database   GiteaDatabase   `json:"database"`
	Session    GiteaSession    `json:"session"`
	Cache      GiteaCache      `json:"cache"`
	Queue      GiteaQueue      `json:"queue"`
	Actions    GiteaActions    `json:"actions"`
	Migrations GiteaMigrations `json:"migrations"`
}

// GiteaServer is [server].
type GiteaServer struct {
	Domain     string `json:"DOMAIN"`
	RootURL    string `json:"ROOT_URL"`
	DisableSSH bool   `json:"DISABLE_SSH"`
}

// GiteaDatabase is [database].
type GiteaDatabase struct {
	Type string `json:"DB_TYPE"`
}

// GiteaSession is [session].
type GiteaSession struct {
	Provider string `json:"PROVIDER"`
}

// GiteaCache is [cache].
type GiteaCache struct {
	Adapter string `json:"ADAPTER"`
}

// GiteaQueue is [queue].
type GiteaQueue struct {
	Type string `json:"TYPE"`
}

// GiteaActions is [actions].
type GiteaActions struct {
	Enabled bool `json:"ENABLED"`
	// DefaultActionsURL "github" resolves `uses: actions/checkout@v4` on
	// github.com, as the upstream workflows expect.
	DefaultActionsURL string `json:"DEFAULT_ACTIONS_URL"`
}

// GiteaMigrations is [migrations].
type GiteaMigrations struct {
	// AllowedDomains empty is Gitea's "any public host" policy; it is
	// written out so the chart cannot default it to something narrower.
	AllowedDomains     string `json:"ALLOWED_DOMAINS"`
	AllowLocalNetworks bool   `json:"ALLOW_LOCALNETWORKS"`
}

// GiteaIngress is the chart's Ingress.
type GiteaIngress struct {
	Enabled   bool               `json:"enabled"`
	ClassName string             `json:"className"`
	Hosts     []GiteaIngressHost `json:"hosts"`
}

// GiteaIngressHost is one host of the Ingress.
type GiteaIngressHost struct {
	Host  string             `json:"host"`
	Paths []GiteaIngressPath `json:"paths"`
}

// GiteaIngressPath is one path of a host.
type GiteaIngressPath struct {
	Path     string `json:"path"`
	PathType string `json:"pathType"`
}

// Gitea is the official chart with sqlite and in-memory cache, session and
// queue (no Postgres or Valkey pods), Actions on, behind the ingress on
// git.localhost and the node's name.
func Gitea(p Platform) Release {
	admin := Secret{Name: GiteaAdminSecret, Data: map[string]secret.Value{
		"username": secret.New(p.GiteaAdmin),
		"password": p.GiteaAdminPassword,
	}}
	envToIni := Secret{Name: GiteaEnvToIniSecret, Data: map[string]secret.Value{"environment-to-ini": secret.New(giteaEnvToIni)}}
	executable := int32(0o755)
	root := []GiteaIngressPath{{Path: "/", PathType: "Prefix"}}
	return Release{
		Name: GiteaRelease, Namespace: GiteaNamespace, Source: p.Sources.withDefaults().Gitea,
		Secrets: []Secret{admin, envToIni},
		Values: GiteaValues{
			Image: GiteaImage{Tag: giteaVersion, Rootless: true},
			// One pod at a time: the chart's RollingUpdate starts the new pod
			// beside the old, which holds the volume's LevelDB queue lock, so
			// the new one never gets ready and the rollout deadlocks
			// (bitnami/charts#19834).
			Strategy: GiteaStrategy{Type: "Recreate"},
			Gitea: GiteaSection{
				Admin: GiteaAdmin{ExistingSecret: GiteaAdminSecret, Email: p.GiteaAdmin + "@git.localhost", PasswordMode: "keepUpdated"},
				Config: GiteaConfig{
					Server:     GiteaServer{Domain: p.giteaHost(), RootURL: p.GiteaURL(), DisableSSH: true},
					Database:   GiteaDatabase{Type: "sqlite3"},
					Session:    GiteaSession{Provider: "memory"},
					Cache:      GiteaCache{Adapter: "memory"},
					Queue:      GiteaQueue{Type: "level"},
					Actions:    GiteaActions{Enabled: true, DefaultActionsURL: "github"},
					Migrations: GiteaMigrations{AllowedDomains: "", AllowLocalNetworks: p.AllowLocalMigrations},
				},
				// A changed admin login changes the values, so the release is
				// upgraded and the pod restarted to apply it (keepUpdated).
				PodAnnotations: map[string]string{"pocketidp.dev/admin-checksum": checksum(admin)},
			},
			Ingress:     GiteaIngress{Enabled: true, ClassName: config.IngressClass, Hosts: p.giteaIngressHosts(root)},
			Persistence: Toggle{Enabled: true},
			// Each off explicitly: the chart enables some of them by default.
			PostgreSQL: Toggle{}, PostgreSQLHA: Toggle{}, Valkey: Toggle{}, ValkeyCluster: Toggle{},
			Test: Toggle{}, // the chart's test is a hook pod: nothing to wait for
			ExtraVolumes: []corev1.Volume{{Name: "environment-to-ini", VolumeSource: corev1.VolumeSource{
				Secret: &corev1.SecretVolumeSource{SecretName: GiteaEnvToIniSecret, DefaultMode: &executable},
			}}},
			ExtraInitVolumeMounts: []corev1.VolumeMount{{
				Name: "environment-to-ini", MountPath: giteaEnvToIniPath, SubPath: "environment-to-ini", ReadOnly: true,
			}},
		},
	}
}

// giteaIngressHosts: git.localhost, the node's name, and the course's
// name for Gitea (config.CourseGiteaHost) when that is another.
func (p Platform) giteaIngressHosts(paths []GiteaIngressPath) []GiteaIngressHost {
	hosts := []GiteaIngressHost{{Host: p.giteaHost(), Paths: paths}, {Host: p.nodeName(), Paths: paths}}
	if p.nodeName() != config.CourseGiteaHost {
		hosts = append(hosts, GiteaIngressHost{Host: config.CourseGiteaHost, Paths: paths})
	}
	return hosts
}

// checksum identifies a Secret's content without revealing it.
func checksum(s Secret) string {
	h := sha256.New()
	for _, k := range slices.Sorted(maps.Keys(s.Data)) {
		fmt.Fprintf(h, "%s=%d:%s;", k, len(s.Data[k].Reveal()), s.Data[k].Reveal())
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// --- Registry ---

// RegistryValues are the values of PocketIDP's registry chart.
type RegistryValues struct {
	Image              string               `json:"image"`
	Port               int                  `json:"port"`
	DebugAddr          string               `json:"debugAddr"`
	LogLevel           string               `json:"logLevel"`
	ServicePort        int                  `json:"servicePort"`
	StoragePath        string               `json:"storagePath"`
	ContainerdCertsDir string               `json:"containerdCertsDir"`
	RegistryHost       string               `json:"registryHost"`
	HostsTOML          string               `json:"hostsToml"`
	LocalRegistry      LocalRegistryHosting `json:"localRegistryHosting"`
}

// LocalRegistryHosting is KEP-1755's localRegistryHosting.v1.
type LocalRegistryHosting struct {
	Host                     string `json:"host"`
	HostFromContainerRuntime string `json:"hostFromContainerRuntime"`
	HostFromClusterNetwork   string `json:"hostFromClusterNetwork"`
	Help                     string `json:"help"`
}

// containerdHosts is a containerd hosts.toml.
type containerdHosts struct {
	Server string                    `toml:"server"`
	Host   map[string]containerdHost `toml:"host"`
}

type containerdHost struct {
	Capabilities []string `toml:"capabilities"`
}

// RegistryHostsTOML is the containerd hosts.toml for localhost:5001: plain
// HTTP to the registry listening on the node itself.
func RegistryHostsTOML() (string, error) {
	url := "http://" + RegistryHost
	var b bytes.Buffer
	err := toml.NewEncoder(&b).Encode(containerdHosts{
		Server: url,
		Host:   map[string]containerdHost{url: {Capabilities: []string{"pull", "resolve", "push"}}},
	})
	return b.String(), err
}

// RegistryServiceName is the registry Service's DNS name.
func RegistryServiceName() string {
	return fmt.Sprintf("%s.%s.svc.cluster.local", RegistryRelease, RegistryNamespace)
}

// RegistryServiceHost is the registry's address from pods.
func RegistryServiceHost() string {
	return fmt.Sprintf("%s:%d", RegistryServiceName(), registryServicePort)
}

// Registry is the image registry: a registry on every node's
// localhost:5001, so the node pulls localhost:5001/<image> itself.
func Registry(p Platform) (Release, error) {
	hosts, err := RegistryHostsTOML()
	if err != nil {
		return Release{}, fmt.Errorf("registry hosts.toml: %w", err)
	}
	return Release{
		Name: RegistryRelease, Namespace: RegistryNamespace, Source: p.Sources.withDefaults().Registry,
		Values: RegistryValues{
			Image: registryImage, Port: registryPort, DebugAddr: registryDebugAddr, LogLevel: "info",
			ServicePort: registryServicePort,
			StoragePath: "/var/lib/pocketidp-registry", ContainerdCertsDir: "/etc/containerd/certs.d",
			RegistryHost: RegistryHost, HostsTOML: hosts,
			LocalRegistry: LocalRegistryHosting{
				Host: RegistryHost, HostFromContainerRuntime: RegistryHost,
				HostFromClusterNetwork: RegistryServiceHost(),
				Help:                   "https://kind.sigs.k8s.io/docs/user/local-registry/",
			},
		},
	}, nil
}

// --- Runner ---

//go:embed all:runnerchart
var runnerChartFiles embed.FS

// RunnerValues are the values of PocketIDP's runner chart (runnerchart/).
type RunnerValues struct {
	Images            RunnerImages      `json:"images"`
	GiteaURL          string            `json:"giteaURL"`
	RegistrationToken SecretKey         `json:"registrationToken"`
	CA                RunnerCA          `json:"ca"`
	Config            string            `json:"config"`
	Storage           string            `json:"storage"`
	Forwards          []LoopbackForward `json:"forwards"`
	DinD              RunnerDinD        `json:"dind"`
}

// RunnerImages are the runner pod's images.
type RunnerImages struct {
	Runner    string `json:"runner"`
	DinD      string `json:"dind"`
	Forwarder string `json:"forwarder"`
}

// SecretKey names one key of a Secret.
type SecretKey struct {
	Secret string `json:"secret"`
	Key    string `json:"key"`
}

// RunnerCA is where PocketIDP's CA goes in the runner pod.
type RunnerCA struct {
	SecretKey `json:",inline"`
	// Dir is the CA's folder in the DinD container, which jobs mount.
	Dir string `json:"dir"`
	// RunnerFile is the CA among act_runner's system roots.
	RunnerFile string `json:"runnerFile"`
}

// LoopbackForward listens on the pod's 127.0.0.1:Port and relays each
// connection to Host:TargetPort.
type LoopbackForward struct {
	Name       string `json:"name"`
	Port       int    `json:"port"`
	Host       string `json:"host"`
	TargetPort int    `json:"targetPort"`
}

// RunnerDinD is the Docker daemon's container.
type RunnerDinD struct {
	Resources corev1.ResourceRequirements `json:"resources"`
}

// ActRunnerConfig is the part of act_runner's config PocketIDP sets.
type ActRunnerConfig struct {
	Log       ActRunnerLog       `json:"log"`
	Runner    ActRunnerRunner    `json:"runner"`
	Cache     ActRunnerCache     `json:"cache"`
	Container ActRunnerContainer `json:"container"`
}

// ActRunnerLog is log:.
type ActRunnerLog struct {
	Level string `json:"level"`
}

// ActRunnerRunner is runner:.
type ActRunnerRunner struct {
	Capacity int               `json:"capacity"`
	Timeout  string            `json:"timeout"`
	Labels   []string          `json:"labels"`
	Envs     map[string]string `json:"envs"`
}

// ActRunnerCache is cache:.
type ActRunnerCache struct {
	Enabled bool `json:"enabled"`
}

// ActRunnerContainer is container: how job containers are started.
type ActRunnerContainer struct {
	Network       string   `json:"network"`
	Privileged    bool     `json:"privileged"`
	Options       string   `json:"options"`
	ValidVolumes  []string `json:"valid_volumes"`
	RequireDocker bool     `json:"require_docker"`
	DockerTimeout string   `json:"docker_timeout"`
}

// Where the runner pod's pieces live (the chart's paths).
const (
	caDir         = "/pocketidp-ca" // CA Secret, in the DinD container and in jobs
	dockerCertDir = "/certs/client" // DinD's client certificates (the chart's shared /certs)
	dindHost      = "tcp://127.0.0.1:2376"
	runnerCAFile  = "/etc/ssl/certs/pocketidp-ca.crt" // where Go (act_runner) finds extra roots
	caKey         = "ca.crt"
)

// RunnerLabels are the runner's labels: the names workflows use in
// runs-on, each run in Gitea's runner image of that Ubuntu.
var RunnerLabels = []string{
	"ubuntu-latest:docker://docker.gitea.com/runner-images:ubuntu-latest",
	"ubuntu-22.04:docker://docker.gitea.com/runner-images:ubuntu-22.04",
}

// Runner is PocketIDP's runner chart: act_runner with a Docker-in-Docker
// daemon that runs the jobs, registered with the token from Gitea's API,
// trusting PocketIDP's CA.
//
// Jobs run on the daemon's host network, which is the runner pod's network.
// There, git (libcurl) sends https://git.localhost:<port> and every other
// *.localhost name to 127.0.0.1 without asking DNS, and the upstream
// Backstage workflow pushes localhost:5001/backstage:<tag>: forwarders in
// the pod listen on 127.0.0.1:<port> (to the ingress Service; TLS passes
// through, so Traefik routes by the name asked for) and on 127.0.0.1:5001
// (to the registry Service). The nodes pull that same reference from their
// own localhost:5001, where the registry listens.
func Runner(p Platform) (Release, error) {
	gitea := p.GiteaURL()
	cfg := ActRunnerConfig{
		Log: ActRunnerLog{Level: "info"},
		Runner: ActRunnerRunner{
			Capacity: 1, Timeout: "3h", Labels: RunnerLabels,
			Envs: map[string]string{
				// The job's docker CLI talks to the DinD daemon.
				"DOCKER_HOST":       dindHost,
				"DOCKER_TLS_VERIFY": "1",
				"DOCKER_CERT_PATH":  dockerCertDir,
				// Node-based actions and git (for the Gitea URL only, so
				// other hosts keep the system roots) trust our CA.
				"NODE_EXTRA_CA_CERTS": caDir + "/" + caKey,
				"GIT_CONFIG_COUNT":    "1",
				"GIT_CONFIG_KEY_0":    "http." + gitea + ".sslCAInfo",
				"GIT_CONFIG_VALUE_0":  caDir + "/" + caKey,
			},
		},
		Cache: ActRunnerCache{Enabled: true},
		Container: ActRunnerContainer{
			// The daemon's network is the pod's: 127.0.0.1:2376 (DinD),
			// the loopback forwarders, and the pod's DNS, where
			// git.localhost is the ingress.
			Network: "host",
			Options: strings.Join([]string{
				"-v " + dockerCertDir + ":" + dockerCertDir + ":ro",
				"-v " + caDir + ":" + caDir + ":ro",
			}, " "),
			ValidVolumes:  []string{dockerCertDir, caDir},
			RequireDocker: true,
			DockerTimeout: "300s",
		},
	}
	if len(p.JobEnv) > 0 {
		maps.Copy(cfg.Runner.Envs, p.JobEnv)
		// Go reads every file of these folders: the CA's, then the system's.
		cfg.Runner.Envs["SSL_CERT_DIR"] = caDir + ":/etc/ssl/certs"
	}
	cfgYAML, err := yaml.Marshal(cfg)
	if err != nil {
		return Release{}, fmt.Errorf("act_runner config: %w", err)
	}
	secrets := []Secret{{Name: CASecret, Data: map[string]secret.Value{caKey: secret.New(string(p.CACert))}}}
	// Without a token (Gitea gives none once a runner is registered) the
	// Secret an earlier run made is kept as it is: the runner registered
	// with it and keeps its registration in its volume.
	if !p.RunnerToken.Empty() {
		secrets = append([]Secret{{Name: RunnerTokenSecret, Data: map[string]secret.Value{"token": p.RunnerToken}}}, secrets...)
	}
	return Release{
		Name: RunnerRelease, Namespace: RunnerNamespace, Source: p.Sources.withDefaults().Runner,
		// DinD is privileged: a namespace PocketIDP creates says so for
		// clusters that enforce Pod Security.
		NamespaceLabels: map[string]string{"pod-security.kubernetes.io/enforce": "privileged"},
		Secrets:         secrets,
		Values: RunnerValues{
			Images:            RunnerImages{Runner: actRunnerImage, DinD: dindImage, Forwarder: busyboxImage},
			GiteaURL:          strings.TrimSuffix(gitea, "/"),
			RegistrationToken: SecretKey{Secret: RunnerTokenSecret, Key: "token"},
			CA:                RunnerCA{SecretKey: SecretKey{Secret: CASecret, Key: caKey}, Dir: caDir, RunnerFile: runnerCAFile},
			Config:            string(cfgYAML),
			Storage:           "1Gi",
			Forwards: []LoopbackForward{
				{Name: "ingress", Port: p.Port, Host: cluster.IngressServiceHost, TargetPort: p.Port},
				{Name: "registry", Port: registryPort, Host: RegistryServiceName(), TargetPort: registryServicePort},
			},
			// A Backstage image build (yarn install and a webpack build)
			// needs about 1.5 GiB and a core: asked for, so the scheduler
			// does not crowd it. No limit: an OOM-killed build would fail
			// for the size of the machine, not for a fault.
			DinD: RunnerDinD{Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse("500m"),
				corev1.ResourceMemory: resource.MustParse("1536Mi"),
			}}},
		},
	}, nil
}

// --- Humanitec agent ---

// AgentValues are the values of the humanitec-agent chart.
type AgentValues struct {
	Humanitec AgentHumanitec `json:"humanitec"`
}

// AgentHumanitec is the chart's humanitec: key.
type AgentHumanitec struct {
	Org string `json:"org"`
	// PrivateKey is the agent's key (PEM); its public half is registered
	// with Humanitec. The chart takes it only as a value.
	PrivateKey string `json:"privateKey"`
}

// Agent is the Humanitec agent, through which the orchestrator reaches the
// cluster.
func Agent(p Platform) Release {
	return Release{
		Name: AgentRelease, Namespace: AgentNamespace, Source: p.Sources.withDefaults().Agent,
		Values: AgentValues{Humanitec: AgentHumanitec{Org: p.HumanitecOrg, PrivateKey: p.AgentPrivateKey.Reveal()}},
	}
}
