package humanitec

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/pocketidp/pocketidp/internal/config"
	"github.com/pocketidp/pocketidp/internal/secret"
)

// What one install registers. Every id but the shared env type carries the
// install id, so that installs never collide and a leftover can be told
// apart from someone else's object.

// EnvTypeID is the org-wide environment type the course uses. It is shared
// by design: created when missing, never an error when present.
const EnvTypeID = config.EnvType

// EnvTypeDescription is what a created env type says about itself.
const EnvTypeDescription = "Local cluster used by 5min IDP (pocketidp)."

// EnvID is the environment each of the install's apps has, named like its
// type. Backstage's CI deploys there.
const EnvID = EnvTypeID

// EnvName is the display name of each app's environment.
const EnvName = "5min IDP local environment"

// AppID is the install's demo application.
func AppID(installID string) string { return "5min-idp-" + installID }

// BackstageAppID is the application Backstage is deployed into.
func BackstageAppID(installID string) string { return config.BackstageAppID(installID) }

// Namespace is the Kubernetes namespace the namespace definition gives an
// app's environment: its "${context.app.id}-${context.env.id}" template,
// worked out.
func Namespace(app, env string) string { return app + "-" + env }

// Prefix starts the id of every resource definition and of the agent.
func Prefix(installID string) string { return AppID(installID) + "-" }

// AgentID is the install's agent.
func AgentID(installID string) string { return Prefix(installID) + "agent" }

// Marker is the agent description that says which install registered it
// (agents, unlike definitions and apps, have no name to carry it).
func Marker(installID string) string {
	return "5min IDP local cluster (pocketidp install " + installID + ")"
}

// Definition ids, after the prefix.
const (
	DefNamespace = "k8s-namespace"
	DefDNS       = "dns-localhost"
	DefPostgres  = "postgres"
	DefMySQL     = "mysql"
	DefIngress   = "ingress-traefik"
	DefVolume    = "volume-emptydir"
	DefAgent     = "agent"
	DefCluster   = "k8s-cluster"
)

// definitionSuffixes in registration order.
var definitionSuffixes = []string{DefNamespace, DefDNS, DefIngress, DefPostgres, DefMySQL, DefVolume, DefAgent, DefCluster}

// DefinitionIDs are the ids of the install's resource definitions.
func DefinitionIDs(installID string) []string {
	out := make([]string, len(definitionSuffixes))
	for i, s := range definitionSuffixes {
		out[i] = Prefix(installID) + s
	}
	return out
}

// Spec is what an install registers, in the API's terms. Secret leaves
// (the token, the cluster's client key) are secret.Value: they print and
// marshal as [redacted] until reveal is applied for sending.
type Spec struct {
	InstallID   string
	EnvType     EnvType
	Apps        []AppCreate
	Values      []SharedValue
	Definitions []DefinitionCreate
	Agent       AgentCreate
}

// SharedValue is one app-level shared value.
type SharedValue struct {
	App         string
	Key         string
	Description string
	Value       string
	// Secret, when set, is sent instead of Value with is_secret.
	Secret secret.Value
}

// IsSecret reports whether the value is stored as a secret.
func (v SharedValue) IsSecret() bool { return !v.Secret.Empty() }

// SpecInput is what the spec is made from.
type SpecInput struct {
	InstallID string
	Org       string
	// Token becomes Backstage's HUMANITEC_TOKEN shared value.
	Token secret.Value
	// GitOrg is Backstage's GITHUB_ORG_ID (the Gitea org, 5minorg).
	GitOrg string
	// Cluster is the local cluster as Humanitec's agent reaches it; only
	// the k8s-cluster definition uses it.
	Cluster ClusterData
	// AgentPublicKeyPEM is the public half of the agent's key pair.
	AgentPublicKeyPEM string
}

// NewSpec lays out the install's objects.
func NewSpec(in SpecInput) Spec {
	id, p := in.InstallID, Prefix(in.InstallID)
	env := &EnvBase{ID: EnvID, Name: EnvName, Type: EnvTypeID}
	backstage := BackstageAppID(id)
	gitOrg := in.GitOrg
	if gitOrg == "" {
		gitOrg = config.DefaultGiteaOrg
	}
	onEnvType := []Criterion{{EnvType: EnvTypeID}}
	return Spec{
		InstallID: id,
		EnvType:   EnvType{ID: EnvTypeID, Description: EnvTypeDescription},
		Apps: []AppCreate{
			{ID: AppID(id), Name: AppID(id), Env: env},
			{ID: backstage, Name: backstage, Env: env},
		},
		Values: []SharedValue{
			{App: backstage, Key: "HUMANITEC_ORG_ID", Description: "Humanitec org Backstage registers apps in", Value: in.Org},
			{App: backstage, Key: "HUMANITEC_TOKEN", Description: "Humanitec API token Backstage uses", Secret: in.Token},
			{App: backstage, Key: "CLOUD_PROVIDER", Description: "Which set of Backstage templates to offer", Value: "5min"},
			{App: backstage, Key: "GITHUB_ORG_ID", Description: "Git org Backstage scaffolds repositories into (Gitea)", Value: gitOrg},
		},
		Definitions: []DefinitionCreate{
			{
				ID: p + DefNamespace, Name: p + DefNamespace, Type: "k8s-namespace", DriverType: "humanitec/echo",
				DriverInputs: &DriverInputs{Values: map[string]any{"namespace": "${context.app.id}-${context.env.id}"}},
				Criteria:     onEnvType,
			},
			{
				ID: p + DefDNS, Name: p + DefDNS, Type: "dns", DriverType: "humanitec/dns-wildcard",
				DriverInputs: &DriverInputs{Values: map[string]any{
					"domain":   "localhost",
					"template": "${context.app.id}-{{ randAlphaNum 4 | lower }}",
				}},
				// The ingress comes with the DNS name, so a workload that
				// asks for a route is reachable through Traefik.
				Provision: map[string]Provision{"ingress": {}},
				Criteria:  onEnvType,
			},
			{
				// The ingress the dns definition brings along: without one of
				// ours, Humanitec's default renders it for ingress-nginx,
				// which this cluster does not run.
				ID: p + DefIngress, Name: p + DefIngress, Type: "ingress", DriverType: "humanitec/ingress",
				DriverInputs: &DriverInputs{Values: map[string]any{
					"class": config.IngressClass,
					// No tls section of its own: Traefik serves its default
					// certificate (PocketIDP's, which names the app hosts) on
					// the websecure entry point.
					"no_tls": true,
					"annotations": map[string]any{
						"traefik.ingress.kubernetes.io/router.entrypoints": "websecure",
						"traefik.ingress.kubernetes.io/router.tls":         "true",
					},
				}},
				Criteria: onEnvType,
			},
			{
				ID: p + DefPostgres, Name: p + DefPostgres, Type: "postgres", DriverType: "humanitec/template",
				DriverInputs: &DriverInputs{Values: map[string]any{"templates": postgresTemplates}},
				Criteria:     []Criterion{{EnvType: EnvTypeID, Class: "default"}},
			},
			{
				// The 5min-node-service template asks for `type: mysql`.
				ID: p + DefMySQL, Name: p + DefMySQL, Type: "mysql", DriverType: "humanitec/template",
				DriverInputs: &DriverInputs{Values: map[string]any{"templates": mysqlTemplates}},
				Criteria:     []Criterion{{EnvType: EnvTypeID, Class: "default"}},
			},
			{
				ID: p + DefVolume, Name: p + DefVolume, Type: "volume", DriverType: "humanitec/template",
				DriverInputs: &DriverInputs{Values: map[string]any{"templates": map[string]any{"manifests": emptyDirManifest}}},
				Criteria:     []Criterion{{EnvType: EnvTypeID, Class: "ephemeral"}},
			},
			{
				ID: p + DefAgent, Name: p + DefAgent, Type: "agent", DriverType: "humanitec/agent",
				DriverInputs: &DriverInputs{Values: map[string]any{"id": AgentID(id)}},
				Criteria:     []Criterion{{EnvType: EnvTypeID, ResID: "agent"}},
			},
			{
				ID: p + DefCluster, Name: p + DefCluster, Type: "k8s-cluster", DriverType: "humanitec/k8s-cluster",
				DriverInputs: &DriverInputs{
					Values: map[string]any{
						// Workloads are reached through the local ingress,
						// not a cloud load balancer.
						"loadbalancer": "0.0.0.0",
						"cluster_data": in.Cluster.clusterData(),
					},
					Secrets: map[string]any{
						// Humanitec reaches the cluster through the agent
						// that the agent definition provides.
						"agent_url":   "${resources['agent#agent'].outputs.url}",
						"credentials": in.Cluster.credentials(),
					},
				},
				Criteria: onEnvType,
			},
		},
		Agent: AgentCreate{ID: AgentID(id), PublicKey: in.AgentPublicKeyPEM, Description: Marker(id)},
	}
}

// postgresTemplates run in Humanitec's template driver: one Postgres
// StatefulSet per resource in the app's namespace. The cookie keeps the
// generated credentials across deployments.
var postgresTemplates = map[string]any{
	"init": strings.TrimSpace(`
{{- if .cookie }}
name: {{ .cookie.name }}
port: {{ .cookie.port }}
user: {{ .cookie.user }}
password: {{ .cookie.password }}
database: {{ .cookie.database }}
{{- else }}
name: pg-{{ randAlpha 10 | lower }}
port: 5432
user: {{ randAlpha 8 | lower | quote }}
password: {{ randAlphaNum 24 | quote }}
database: {{ randAlpha 8 | lower | quote }}
{{- end }}`),
	"cookie": strings.TrimSpace(`
name: {{ .init.name }}
port: {{ .init.port }}
user: {{ .init.user }}
password: {{ .init.password }}
database: {{ .init.database }}`),
	"manifests": strings.TrimSpace(`
postgres-secret.yaml:
  location: namespace
  data:
    apiVersion: v1
    kind: Secret
    metadata:
      name: {{ .init.name }}
    type: Opaque
    stringData:
      POSTGRES_USER: {{ .init.user | quote }}
      POSTGRES_PASSWORD: {{ .init.password | quote }}
      POSTGRES_DB: {{ .init.database | quote }}
postgres-service.yaml:
  location: namespace
  data:
    apiVersion: v1
    kind: Service
    metadata:
      name: {{ .init.name }}
    spec:
      clusterIP: None
      selector:
        app.kubernetes.io/name: {{ .init.name }}
      ports:
        - name: postgres
          port: {{ .init.port }}
postgres-statefulset.yaml:
  location: namespace
  data:
    apiVersion: apps/v1
    kind: StatefulSet
    metadata:
      name: {{ .init.name }}
    spec:
      serviceName: {{ .init.name }}
      replicas: 1
      selector:
        matchLabels:
          app.kubernetes.io/name: {{ .init.name }}
      template:
        metadata:
          labels:
            app.kubernetes.io/name: {{ .init.name }}
        spec:
          automountServiceAccountToken: false
          securityContext:
            runAsNonRoot: true
            runAsUser: 70
            fsGroup: 70
            seccompProfile:
              type: RuntimeDefault
          containers:
            - name: postgres
              image: postgres:17-alpine
              envFrom:
                - secretRef:
                    name: {{ .init.name }}
              env:
                - name: PGDATA
                  value: /var/lib/postgresql/data/pgdata
                - name: PGPORT
                  value: {{ .init.port | quote }}
              ports:
                - name: postgres
                  containerPort: {{ .init.port }}
              readinessProbe:
                exec:
                  command: ["pg_isready", "-U", {{ .init.user | quote }}]
              securityContext:
                allowPrivilegeEscalation: false
                capabilities:
                  drop: ["ALL"]
              volumeMounts:
                - name: data
                  mountPath: /var/lib/postgresql/data
      volumeClaimTemplates:
        - metadata:
            name: data
          spec:
            accessModes: ["ReadWriteOnce"]
            resources:
              requests:
                storage: 1Gi`),
	"outputs": strings.TrimSpace(`
host: {{ .init.name }}
port: {{ .init.port }}
name: {{ .init.database }}`),
	"secrets": strings.TrimSpace(`
username: {{ .init.user }}
password: {{ .init.password }}`),
}

// mysqlTemplates, like postgresTemplates, run one MySQL StatefulSet per
// resource in the app's namespace, its credentials kept in the cookie.
var mysqlTemplates = map[string]any{
	"init": strings.TrimSpace(`
{{- if .cookie }}
name: {{ .cookie.name }}
port: {{ .cookie.port }}
user: {{ .cookie.user }}
password: {{ .cookie.password }}
rootPassword: {{ .cookie.rootPassword }}
database: {{ .cookie.database }}
{{- else }}
name: mysql-{{ randAlpha 10 | lower }}
port: 3306
user: {{ randAlpha 8 | lower | quote }}
password: {{ randAlphaNum 24 | quote }}
rootPassword: {{ randAlphaNum 24 | quote }}
database: {{ randAlpha 8 | lower | quote }}
{{- end }}`),
	"cookie": strings.TrimSpace(`
name: {{ .init.name }}
port: {{ .init.port }}
user: {{ .init.user }}
password: {{ .init.password }}
rootPassword: {{ .init.rootPassword }}
database: {{ .init.database }}`),
	"manifests": strings.TrimSpace(`
mysql-secret.yaml:
  location: namespace
  data:
    apiVersion: v1
    kind: Secret
    metadata:
      name: {{ .init.name }}
    type: Opaque
    stringData:
      MYSQL_USER: {{ .init.user | quote }}
      MYSQL_PASSWORD: {{ .init.password | quote }}
      MYSQL_ROOT_PASSWORD: {{ .init.rootPassword | quote }}
      MYSQL_DATABASE: {{ .init.database | quote }}
mysql-service.yaml:
  location: namespace
  data:
    apiVersion: v1
    kind: Service
    metadata:
      name: {{ .init.name }}
    spec:
      clusterIP: None
      selector:
        app.kubernetes.io/name: {{ .init.name }}
      ports:
        - name: mysql
          port: {{ .init.port }}
mysql-statefulset.yaml:
  location: namespace
  data:
    apiVersion: apps/v1
    kind: StatefulSet
    metadata:
      name: {{ .init.name }}
    spec:
      serviceName: {{ .init.name }}
      replicas: 1
      selector:
        matchLabels:
          app.kubernetes.io/name: {{ .init.name }}
      template:
        metadata:
          labels:
            app.kubernetes.io/name: {{ .init.name }}
        spec:
          automountServiceAccountToken: false
          containers:
            - name: mysql
              image: mysql:8.4
              envFrom:
                - secretRef:
                    name: {{ .init.name }}
              env:
                - name: MYSQL_TCP_PORT
                  value: {{ .init.port | quote }}
              ports:
                - name: mysql
                  containerPort: {{ .init.port }}
              readinessProbe:
                exec:
                  command: ["sh", "-c", "mysqladmin ping -h 127.0.0.1 -P \"$MYSQL_TCP_PORT\" -u root -p\"$MYSQL_ROOT_PASSWORD\""]
              volumeMounts:
                - name: data
                  mountPath: /var/lib/mysql
      volumeClaimTemplates:
        - metadata:
            name: data
          spec:
            accessModes: ["ReadWriteOnce"]
            resources:
              requests:
                storage: 1Gi`),
	"outputs": strings.TrimSpace(`
host: {{ .init.name }}
port: {{ .init.port }}
name: {{ .init.database }}`),
	"secrets": strings.TrimSpace(`
username: {{ .init.user }}
password: {{ .init.password }}`),
}

// emptyDirManifest is the volume the "ephemeral" class gives a workload.
var emptyDirManifest = strings.TrimSpace(`
emptydir.yaml:
  location: volumes
  data:
    name: ${context.res.guresid}-emptydir
    emptyDir:
      sizeLimit: 1024Mi`)

// reveal returns a copy of v with every secret.Value replaced by the secret
// itself, for sending. Maps and slices are copied, never changed in place.
func reveal(v any) any {
	switch x := v.(type) {
	case secret.Value:
		return x.Reveal()
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = reveal(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = reveal(e)
		}
		return out
	default:
		return v
	}
}

// normalize turns v into what JSON would read back (map[string]any, float64,
// ...), so a desired value compares equal to the one the API returns.
func normalize(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("humanitec: normalize %T: %v", v, err))
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		panic(fmt.Sprintf("humanitec: normalize %T: %v", v, err))
	}
	return out
}
