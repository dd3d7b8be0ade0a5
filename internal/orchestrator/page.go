package orchestrator

import (
	"cmp"
	_ "embed"
	"fmt"
	"html/template"
	"maps"
	"net/http"
	"slices"
	"strings"
)

//go:embed page.html.tmpl
var pageSource string

var pageTemplate = template.Must(template.New("page").Funcs(template.FuncMap{
	"statusClass": func(s string) string { return strings.ReplaceAll(s, " ", "-") },
}).Parse(pageSource))

// pageData is what the status page shows; nothing secret is in it.
type pageData struct {
	Org  string
	Apps []pageApp
}

type pageApp struct {
	ID   string
	Envs []pageEnv
}

type pageEnv struct {
	ID, Type string
	URLs     []string
	Deploys  []*Deploy // newest first, at most pageDeploys
	Graph    *resourceGraph
}

// pageDeploys is how many deployments per environment the page lists.
const pageDeploys = 5

// opPage serves the status page: apps, environments, their newest
// deployments with status and errors, the apps' URLs and the resource
// graph of each environment. It needs no token: it shows no secret (no
// values, no secret outputs), and is meant for the learner's browser.
func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	data := s.pageData()
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	if err := pageTemplate.Execute(w, data); err != nil {
		s.log.Error("status page", "err", err)
	}
}

// pageData gathers the page. Under s.mu.
func (s *Server) pageData() pageData {
	d := pageData{Org: s.cfg.Org}
	for _, id := range slices.Sorted(maps.Keys(s.st.Apps)) {
		a := s.st.Apps[id]
		pa := pageApp{ID: a.ID}
		for _, e := range a.Envs {
			pe := pageEnv{ID: e.ID, Type: e.Type}
			ds := slices.Clone(s.st.Deploys[envKey(a.ID, e.ID)])
			slices.Reverse(ds)
			pe.Deploys = ds[:min(len(ds), pageDeploys)]
			var res []*ActiveResource
			prefix := envKey(a.ID, e.ID) + "/"
			for _, k := range slices.Sorted(maps.Keys(s.st.Resources)) {
				if strings.HasPrefix(k, prefix) {
					r := s.st.Resources[k]
					res = append(res, r)
					if r.Type == typeRoute || r.Type == typeDNS {
						if h, _ := r.Outputs["host"].(string); h != "" {
							pe.URLs = append(pe.URLs, s.appURL(h))
						}
					}
				}
			}
			pe.URLs = slices.Compact(slices.Sorted(slices.Values(pe.URLs)))
			if len(ds) > 0 {
				var workloads []string
				if set, ok := s.st.Sets[ds[0].SetID]; ok {
					workloads = slices.Sorted(maps.Keys(set))
				}
				if len(workloads)+len(res) > 0 {
					g := buildGraph(workloads, res)
					pe.Graph = &g
				}
			}
			pa.Envs = append(pa.Envs, pe)
		}
		d.Apps = append(d.Apps, pa)
	}
	return d
}

// appURL is how a browser on the host reaches an app's host.
func (s *Server) appURL(host string) string {
	port := cmp.Or(s.cfg.IngressPort, defaultIngressPort)
	if port == 443 {
		return "https://" + host + "/"
	}
	return fmt.Sprintf("https://%s:%d/", host, port)
}

// defaultIngressPort is the host port of PocketIDP's ingress.
const defaultIngressPort = 8443
