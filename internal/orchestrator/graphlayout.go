package orchestrator

import (
	"cmp"
	"slices"
	"strings"
)

// graphNode is one box of a resource graph: a workload or a resource.
type graphNode struct {
	Key      string // resource key, or "workload/<name>"
	Title    string // what it is: the workload's name, the resource's type
	Detail   string // class and definition
	Name     string // the resource's name in its workload
	Workload bool
	Layer    int
	Row      int
	X, Y     int
}

type graphEdge struct {
	From, To       string
	X1, Y1, X2, Y2 int
}

// resourceGraph is what a page draws: nodes in layers left to right
// (workloads first, then what they use, then what that depends on).
type resourceGraph struct {
	Nodes         []*graphNode
	Edges         []graphEdge
	Width, Height int
	NodeW, NodeH  int
}

// Sizes of the drawing, in SVG units.
const (
	nodeW, nodeH   = 220, 52
	layerGap       = 70
	rowGap         = 18
	graphMargin    = 10
	maxGraphLayers = 8
)

// buildGraph lays out an environment's resources and the workloads of its
// newest deployment.
func buildGraph(workloads []string, res []*ActiveResource) resourceGraph {
	nodes := map[string]*graphNode{}
	var edges []graphEdge
	for _, w := range workloads {
		nodes["workload/"+w] = &graphNode{Key: "workload/" + w, Title: w, Detail: "workload", Workload: true}
	}
	for _, r := range res {
		key := r.Type + "." + r.Class + "#" + r.ResID
		name := r.ResID
		if parts := strings.Split(r.ResID, "."); len(parts) == 4 && parts[0] == "modules" && parts[2] == "externals" {
			name = parts[3]
			if nodes["workload/"+parts[1]] != nil {
				edges = append(edges, graphEdge{From: "workload/" + parts[1], To: key})
			}
		}
		detail := "class " + r.Class
		if r.DefID != "" {
			detail += " · " + r.DefID
		}
		nodes[key] = &graphNode{Key: key, Title: r.Type, Detail: detail, Name: name}
	}
	for _, r := range res {
		for _, d := range r.DependsOn {
			if nodes[d] != nil {
				edges = append(edges, graphEdge{From: r.Type + "." + r.Class + "#" + r.ResID, To: d})
			}
		}
	}
	// A node's layer is one more than the deepest node pointing at it
	// (bounded, so a cycle cannot loop).
	for range maxGraphLayers {
		for _, e := range edges {
			if f, t := nodes[e.From], nodes[e.To]; f.Layer+1 > t.Layer && f.Layer+1 < maxGraphLayers {
				t.Layer = f.Layer + 1
			}
		}
	}
	// Resources nothing points at (the namespace, the environment) stand
	// beside the workloads.
	g := resourceGraph{NodeW: nodeW, NodeH: nodeH}
	for _, n := range nodes {
		g.Nodes = append(g.Nodes, n)
	}
	slices.SortFunc(g.Nodes, func(a, b *graphNode) int {
		return cmp.Or(cmp.Compare(a.Layer, b.Layer), cmp.Compare(a.Key, b.Key))
	})
	rows := map[int]int{}
	for _, n := range g.Nodes {
		n.Row = rows[n.Layer]
		rows[n.Layer]++
		n.X = graphMargin + n.Layer*(nodeW+layerGap)
		n.Y = graphMargin + n.Row*(nodeH+rowGap)
		g.Width = max(g.Width, n.X+nodeW+graphMargin)
		g.Height = max(g.Height, n.Y+nodeH+graphMargin)
	}
	for _, e := range edges {
		f, t := nodes[e.From], nodes[e.To]
		e.X1, e.Y1, e.X2, e.Y2 = f.X+nodeW, f.Y+nodeH/2, t.X, t.Y+nodeH/2
		g.Edges = append(g.Edges, e)
	}
	return g
}
