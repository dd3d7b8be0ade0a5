package orchestrator

import (
	"fmt"
	"slices"
	"strings"
)

// TextGraph draws an environment's resources for a terminal: each workload
// with the resources it asked for, then the environment's own resources.
func TextGraph(res []ActiveResource) string {
	byWorkload := map[string][]ActiveResource{}
	var env []ActiveResource
	for _, r := range res {
		parts := strings.Split(r.ResID, ".")
		if len(parts) == 4 && parts[0] == "modules" && parts[2] == "externals" {
			byWorkload[parts[1]] = append(byWorkload[parts[1]], r)
			continue
		}
		env = append(env, r)
	}
	line := func(r ActiveResource, name string) string {
		s := fmt.Sprintf("%s %s (class %s, %s)", r.Type, name, r.Class, r.DefID)
		if h, _ := r.Outputs["host"].(string); h != "" {
			s += " " + h
		}
		return s
	}
	var b strings.Builder
	workloads := make([]string, 0, len(byWorkload))
	for w := range byWorkload {
		workloads = append(workloads, w)
	}
	slices.Sort(workloads)
	for _, w := range workloads {
		fmt.Fprintf(&b, "workload %s\n", w)
		rs := byWorkload[w]
		slices.SortFunc(rs, func(a, b ActiveResource) int { return strings.Compare(a.ResID+a.Type, b.ResID+b.Type) })
		for i, r := range rs {
			branch := "├─"
			if i == len(rs)-1 {
				branch = "└─"
			}
			fmt.Fprintf(&b, "  %s %s\n", branch, line(r, strings.Split(r.ResID, ".")[3]))
		}
	}
	if len(env) > 0 {
		b.WriteString("environment\n")
		for i, r := range env {
			branch := "├─"
			if i == len(env)-1 {
				branch = "└─"
			}
			fmt.Fprintf(&b, "  %s %s\n", branch, line(r, r.ResID))
		}
	}
	if b.Len() == 0 {
		return "no resources: nothing is deployed in this environment yet\n"
	}
	return b.String()
}
