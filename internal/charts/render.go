package charts

import (
	"fmt"
	"sort"
	"strings"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
	releasev1 "helm.sh/helm/v4/pkg/release/v1"
	"helm.sh/helm/v4/pkg/storage"
	"helm.sh/helm/v4/pkg/storage/driver"
)

// KubeVersion is the Kubernetes version releases are rendered for without
// a cluster: the pinned kind node's.
const KubeVersion = "v1.37.0"

// Renderer renders releases as `helm template` does: the same charts the
// Installer would install (built in, --chart-dir, cache or network), no
// cluster needed. It is what `up --dry-run -o yaml` prints and what the
// tests check the real charts with.
type Renderer struct {
	chartLoader
}

// NewRenderer prepares a renderer; Options.Getter is not used.
func NewRenderer(opts Options) (*Renderer, error) {
	ld, err := newLoader(opts)
	if err != nil {
		return nil, err
	}
	return &Renderer{chartLoader: ld}, nil
}

// Rendered is one release's manifests, each as the chart's template made it.
type Rendered struct {
	Release   string
	Namespace string
	Chart     string
	// Manifests are the objects' YAML documents, CRDs first, then the
	// templates in Helm's install order, then hooks.
	Manifests []string
}

// YAML is the release as one multi-document stream with a comment naming
// the chart.
func (r Rendered) YAML() string {
	var b strings.Builder
	for _, m := range r.Manifests {
		fmt.Fprintf(&b, "---\n# release %s/%s, chart %s\n%s\n", r.Namespace, r.Release, r.Chart, strings.TrimSpace(m))
	}
	return b.String()
}

// Render renders rel. Its Secrets (made beside the chart) are not part of
// the output: they hold secrets; callers list them by name.
func (r *Renderer) Render(rel Release) (Rendered, error) {
	out := Rendered{Release: rel.Name, Namespace: rel.Namespace, Chart: rel.Source.String()}
	vals, err := rel.ValuesMap()
	if err != nil {
		return out, fmt.Errorf("release %s: %w", rel.Name, err)
	}
	ch, err := r.loadChart(rel.Source)
	if err != nil {
		return out, fmt.Errorf("release %s: %w", rel.Name, err)
	}
	kv, err := common.ParseKubeVersion(KubeVersion)
	if err != nil {
		return out, err
	}
	cfg := action.NewConfiguration(action.ConfigurationSetLogger(r.log.Handler()))
	cfg.Releases = storage.Init(driver.NewMemory())
	in := action.NewInstall(cfg)
	in.DryRunStrategy = action.DryRunClient
	in.ReleaseName, in.Namespace = rel.Name, rel.Namespace
	in.Replace = true
	in.IncludeCRDs = true
	in.KubeVersion = kv
	ri, err := in.Run(ch, vals)
	if err != nil {
		return out, fmt.Errorf("render release %s (%s): %w", rel.Name, rel.Source, err)
	}
	res, ok := ri.(*releasev1.Release)
	if !ok {
		return out, fmt.Errorf("render release %s: unexpected release type %T", rel.Name, ri)
	}
	// A CRD file that starts with its own "---" leaves Helm's "# Source:"
	// line as a document of its own: it goes with the object after it.
	pending := ""
	for _, doc := range strings.Split(res.Manifest, "\n---\n") {
		doc = strings.TrimSpace(strings.TrimPrefix(doc, "---"))
		switch {
		case doc == "":
		case onlyComments(doc):
			pending += doc + "\n"
		default:
			out.Manifests = append(out.Manifests, pending+doc)
			pending = ""
		}
	}
	hooks := append([]*releasev1.Hook(nil), res.Hooks...)
	sort.SliceStable(hooks, func(a, b int) bool { return hooks[a].Weight < hooks[b].Weight })
	for _, h := range hooks {
		out.Manifests = append(out.Manifests, "# hook "+h.Path+"\n"+strings.TrimSpace(h.Manifest))
	}
	return out, nil
}

func onlyComments(doc string) bool {
	for _, l := range strings.Split(doc, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			return false
		}
	}
	return true
}
