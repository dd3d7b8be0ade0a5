package bootstrap

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/pocketidp/pocketidp/internal/charts"
	"github.com/pocketidp/pocketidp/internal/cluster"
	"github.com/pocketidp/pocketidp/internal/config"
	"github.com/pocketidp/pocketidp/internal/gitea"
	"github.com/pocketidp/pocketidp/internal/humanitec"
	"github.com/pocketidp/pocketidp/internal/orchestrator"
	"github.com/pocketidp/pocketidp/internal/orchestrator/image"
	"github.com/pocketidp/pocketidp/internal/report"
	"github.com/pocketidp/pocketidp/internal/secret"
	"github.com/pocketidp/pocketidp/internal/state"
)

// Preview is what `up --dry-run` shows, made from the options alone: the
// plan's steps and every object `up` would create, as `helm template` and
// `terraform plan` show theirs. Making it creates nothing: no cluster, no
// state, no key; secrets are masked.
type Preview struct {
	// InstallID is the existing install's id, or NewInstallID when there
	// is none yet (a new install draws its own).
	InstallID string `json:"install_id"`
	// Steps are the up plan's steps in the order they may start.
	Steps []PreviewStep `json:"steps"`
	// Documents are the objects, each as YAML under a comment naming it.
	Documents []Document `json:"documents"`
	// Warnings name what could not be shown as it will be made (a chart
	// that cannot be loaded offline is shown by its values).
	Warnings []string `json:"warnings,omitempty"`
}

// PreviewStep is one step of the plan and the steps it waits for.
type PreviewStep struct {
	Name  string   `json:"name"`
	Needs []string `json:"needs,omitempty"`
}

// Document is one object (or one group of objects) `up` would create.
type Document struct {
	// Source says what makes it: "kind", "release gitea/gitea", "coredns",
	// "gitea", "humanitec".
	Source string `json:"source"`
	YAML   string `json:"yaml"`
}

// NewInstallID stands for the id a new install draws (four random letters)
// in a preview.
const NewInstallID = "xxxx"

// Placeholders for what only exists once `up` made it.
const (
	madeAtInstall = "[made by up]"
	masked        = "[redacted]"
)

// NewPreview lays out what `up` with in's options would create. Charts
// come from --chart-dir, the cache or the network as `up` gets them; a
// chart that cannot be loaded is shown by its values, with a warning.
func NewPreview(in *Install) (*Preview, error) {
	o := in.Options
	pv := &Preview{InstallID: NewInstallID}
	if prev, err := state.Read(o.StateDir); err == nil && prev != nil {
		pv.InstallID = prev.InstallID
	}
	plan, err := UpPlan(in)
	if err != nil {
		return nil, err
	}
	for _, s := range plan.Steps() {
		pv.Steps = append(pv.Steps, PreviewStep{Name: s.Action.Name(), Needs: slices.Clone(s.Needs)})
	}

	if o.Kubeconfig == "" && o.Context == "" {
		cfg := cluster.Config{
			Name: o.Name, Port: o.Port, ForwardPort: o.ForwardPort(),
			RegistryPort: config.RegistryPort, ListenAddress: o.ListenAddress,
		}
		if err := pv.add("kind cluster "+o.Name, cfg.KindConfig()); err != nil {
			return nil, err
		}
	}
	if err := pv.addTLS(in); err != nil {
		return nil, err
	}
	block, err := in.dnsRules().Block("    ")
	if err != nil {
		return nil, err
	}
	pv.Documents = append(pv.Documents, Document{Source: "coredns",
		YAML: "# the block `up` adds to kube-system/coredns's Corefile, in its root server block\n" + commentLines(block)})
	if err := pv.addReleases(in, plan); err != nil {
		return nil, err
	}
	if err := pv.addGitea(in); err != nil {
		return nil, err
	}
	if o.LocalOrchestrator() {
		if err := pv.addOrchestrator(in); err != nil {
			return nil, err
		}
	}
	if !o.SkipHumanitec {
		if err := pv.addHumanitec(in); err != nil {
			return nil, err
		}
	}
	return pv, nil
}

// YAML is the preview as one multi-document stream.
func (pv *Preview) YAML() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# pocketidp up --dry-run: what up would create (install %s); secrets are shown as %s\n", pv.InstallID, masked)
	for _, w := range pv.Warnings {
		fmt.Fprintf(&b, "# warning: %s\n", w)
	}
	for _, d := range pv.Documents {
		y := strings.TrimSpace(d.YAML)
		if !strings.HasPrefix(y, "---") {
			b.WriteString("---\n")
		}
		b.WriteString(y + "\n")
	}
	return b.String()
}

// add appends v as YAML under a comment naming source.
func (pv *Preview) add(source string, v any) error {
	y, err := yaml.Marshal(v)
	if err != nil {
		return fmt.Errorf("preview %s: %w", source, err)
	}
	pv.Documents = append(pv.Documents, Document{Source: source, YAML: "# " + source + "\n" + string(y)})
	return nil
}

// addTLS shows the certificate Secret the tls step makes: its hosts; the
// certificate and key exist only once the CA signed them.
func (pv *Preview) addTLS(in *Install) error {
	hosts, err := in.certHosts()
	if err != nil {
		return err
	}
	return pv.add("tls: the ingress's certificate, signed by PocketIDP's local CA for "+strings.Join(hosts, ", "),
		maskedSecret(charts.TraefikNamespace, charts.TLSSecret, corev1.SecretTypeTLS, corev1.TLSCertKey, corev1.TLSPrivateKeyKey))
}

// addReleases renders each chart step's release.
func (pv *Preview) addReleases(in *Install, plan *Plan) error {
	opts := charts.Options{ChartDir: in.Options.ChartDir}
	if in.Options.StateDir != "" {
		if _, err := os.Stat(in.Options.StateDir); err == nil {
			// An earlier run's downloads; read, and added to as `up` would.
			opts.CacheDir = filepath.Join(in.Options.StateDir, "charts")
		}
	}
	if opts.CacheDir == "" {
		dir, err := os.MkdirTemp("", "pocketidp-dry-run-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		opts.CacheDir = dir
	}
	r, err := charts.NewRenderer(opts)
	if err != nil {
		return err
	}
	p, err := in.platform()
	if err != nil {
		return err
	}
	// What other steps make while `up` runs stands in for itself.
	if p.RunnerToken.Empty() {
		p.RunnerToken = secret.New(madeAtInstall)
	}
	if len(p.CACert) == 0 {
		p.CACert = []byte(madeAtInstall)
	}
	if p.AgentPrivateKey.Empty() {
		p.AgentPrivateKey = secret.New(madeAtInstall)
	}
	for _, s := range plan.Steps() {
		cs, ok := s.Action.(chartStep)
		if !ok {
			continue
		}
		rel, err := cs.release(p)
		if err != nil {
			return err
		}
		source := "release " + rel.Namespace + "/" + rel.Name
		for _, sec := range rel.Secrets {
			keys := slices.Sorted(maps.Keys(sec.Data))
			if err := pv.add(source+": Secret "+sec.Name, maskedSecret(rel.Namespace, sec.Name, corev1.SecretTypeOpaque, keys...)); err != nil {
				return err
			}
		}
		out, err := r.Render(report.With(context.Background(), report.Reporter{Log: in.Log}), rel)
		if err != nil {
			pv.Warnings = append(pv.Warnings, fmt.Sprintf("%s is shown by its values: %v", source, err))
			vals, verr := rel.ValuesMap()
			if verr != nil {
				return verr
			}
			if err := pv.add(source+": values for chart "+rel.Source.String()+" (not rendered: "+firstLine(err.Error())+")", maskValues(vals)); err != nil {
				return err
			}
			continue
		}
		pv.Documents = append(pv.Documents, Document{Source: source, YAML: out.YAML()})
	}
	return nil
}

// addGitea shows what the gitea steps make in Gitea.
func (pv *Preview) addGitea(in *Install) error {
	o := in.Options
	cfg := gitea.ConfigFromOptions(o)
	if o.LocalOrchestrator() {
		cfg.HumanitecOrg, cfg.HumanitecToken = config.LocalOrchestratorOrg(pv.InstallID), secret.New(madeAtInstall)
	}
	seed := map[string]any{
		"url":   o.GiteaURL() + "/",
		"admin": map[string]any{"username": cfg.Admin, "password": masked},
		"org":   cfg.Org,
		"repositories": []any{map[string]any{
			"name":         cfg.Org + "/" + cfg.Repo,
			"migratedFrom": cfg.Source,
			"ref":          cfg.Ref,
			"offlineFrom":  cfg.OfflineSource,
		}},
		"runnerRegistrationToken": madeAtInstall,
	}
	if vars := gitea.Variables(cfg, pv.InstallID); vars != nil {
		seed["actionsVariables"] = vars
		seed["actionsSecrets"] = map[string]any{gitea.SecretToken: masked}
	}
	return pv.add("gitea: the org, its repository and its Actions settings", seed)
}

// addHumanitec shows what the humanitec steps register, as the API gets it.
func (pv *Preview) addHumanitec(in *Install) error {
	o := in.Options
	server := "https://" + o.NodeName() + ":6443"
	if o.Kubeconfig != "" || o.Context != "" {
		server = "the kubeconfig's server, or " + humanitec.InClusterAPIServer + " when only the host reaches it"
	}
	org, token, where := o.HumanitecOrg, o.HumanitecToken, "humanitec"
	if o.LocalOrchestrator() {
		org, token, where = config.LocalOrchestratorOrg(pv.InstallID), secret.New(madeAtInstall), "local orchestrator"
	}
	spec := humanitec.NewSpec(humanitec.SpecInput{
		InstallID: pv.InstallID, Org: org, Token: token, GitOrg: config.DefaultGiteaOrg,
		// The CA and client certificate exist once the cluster does.
		Cluster:           humanitec.ClusterData{Server: server, ClientKey: secret.New(madeAtInstall)},
		AgentPublicKeyPEM: madeAtInstall,
	})
	values := make([]map[string]any, 0, len(spec.Values))
	for _, v := range spec.Values {
		value := v.Value
		if v.IsSecret() {
			value = masked
		}
		values = append(values, map[string]any{"app": v.App, "key": v.Key, "description": v.Description, "value": value, "is_secret": v.IsSecret()})
	}
	// secret.Value marshals as [redacted]: the token and the client key
	// stay masked.
	return pv.add(where+": what org "+org+" gets (the k8s-cluster definition also gets the cluster's CA and client certificate once they exist)", map[string]any{
		"envType": spec.EnvType, "apps": spec.Apps, "sharedValues": values,
		"definitions": spec.Definitions, "agent": spec.Agent,
	})
}

// addOrchestrator shows the local orchestrator's objects as
// orchestrator/install applies them: the token and the intermediate CA are
// made by up and masked; the image is the running binary's.
func (pv *Preview) addOrchestrator(in *Install) error {
	objs, err := orchestrator.InstallObjects(orchestrator.InstallConfig{
		Org: config.LocalOrchestratorOrg(pv.InstallID), Token: secret.New(madeAtInstall),
		Image: image.Repository + ":sha-" + madeAtInstall, IngressClass: config.IngressClass,
		IssuerCertPEM: []byte(madeAtInstall), IssuerKeyPEM: []byte(madeAtInstall),
		APIAliasIP: "[the orchestrator Service's cluster IP]",
	})
	if err != nil {
		return err
	}
	for _, obj := range objs {
		if s, ok := obj.(*corev1.Secret); ok {
			obj = maskedSecret(s.Namespace, s.Name, s.Type, slices.Sorted(maps.Keys(s.Data))...)
		}
		name := obj.GetObjectKind().GroupVersionKind().Kind
		if m, ok := obj.(metav1.Object); ok {
			name += " " + m.GetName()
		}
		if err := pv.add("orchestrator: "+name+" (PocketIDP's local orchestrator, at "+orchestrator.URL(in.Options.Port)+")", obj); err != nil {
			return err
		}
	}
	return nil
}

// maskedSecret is a Secret whose keys are listed and whose values are not.
func maskedSecret(ns, name string, typ corev1.SecretType, keys ...string) *corev1.Secret {
	data := map[string]string{}
	for _, k := range keys {
		data[k] = masked
	}
	return &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Type:       typ, StringData: data,
	}
}

// maskValues masks values whose key names a secret (a chart's values are
// data PocketIDP made; the agent's private key is one).
func maskValues(v map[string]any) map[string]any {
	out := make(map[string]any, len(v))
	for k, e := range v {
		switch x := e.(type) {
		case map[string]any:
			out[k] = maskValues(x)
		default:
			l := strings.ToLower(k)
			if strings.Contains(l, "key") || strings.Contains(l, "token") || strings.Contains(l, "password") || strings.Contains(l, "secret") {
				out[k] = masked
			} else {
				out[k] = e
			}
		}
	}
	return out
}

func commentLines(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString("# " + l + "\n")
	}
	return b.String()
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}
