package cli

import (
	"context"
	"strings"

	"github.com/pocketidp/pocketidp/internal/bootstrap"
	"github.com/pocketidp/pocketidp/internal/config"
	"github.com/pocketidp/pocketidp/internal/tui"
)

// groupSteps maps each teardown group to the step-name prefixes whose Undo
// removes it.
var groupSteps = map[tui.TeardownGroup][]string{
	tui.GroupCluster: {bootstrap.StepCluster, bootstrap.StepTLS, bootstrap.StepCoreDNS, "charts/traefik", "charts/gitea", "charts/registry", "charts/runner"},
	tui.GroupGitea:   {"gitea/"},
	// The local orchestrator holds the registrations: it goes, or stays,
	// with them.
	tui.GroupHumanitec: {"humanitec/", bootstrap.StepAgent, "orchestrator/"},
	tui.GroupCA:        {bootstrap.StepTrust},
}

// teardownItems lists what exists now. This install's objects come from
// the state, one item per group, since a group goes (or stays) as a whole:
// the item names each object by its id, so what is picked is exactly what
// is removed. The Humanitec objects on 5min-local that it did not create
// are asked live, one item each, checked only when includeForeign
// (--include-tutorial-objects).
func teardownItems(ctx context.Context, in *bootstrap.Install, includeForeign bool) []tui.TeardownItem {
	f := in.Store.Snapshot()
	cluster := tui.TeardownItem{Group: tui.GroupCluster, ID: in.Options.Name, Description: "kind cluster " + in.Options.Name + " and its containers", Checked: true}
	if in.Options.ExistingCluster() {
		cluster = tui.TeardownItem{Group: tui.GroupCluster, ID: "releases", Description: "PocketIDP's charts and namespaces in the existing cluster (the cluster stays)", Checked: true}
	}
	own := map[tui.TeardownGroup]*tui.TeardownItem{
		tui.GroupCluster:   &cluster,
		tui.GroupGitea:     {Group: tui.GroupGitea, ID: "gitea", Description: "what PocketIDP made in Gitea", Checked: true},
		tui.GroupHumanitec: {Group: tui.GroupHumanitec, ID: "humanitec", Description: humanitecDescription(in.Options), Checked: true},
		tui.GroupCA:        {Group: tui.GroupCA, ID: "ca", Description: "PocketIDP's CA in the system trust store", Checked: true},
	}
	for _, o := range f.Objects {
		g := tui.GroupCluster
		switch {
		case strings.HasPrefix(o.Kind, "gitea/"):
			g = tui.GroupGitea
		case strings.HasPrefix(o.Kind, "humanitec/") && in.Options.SkipHumanitec:
			continue // --skip-humanitec: they stay, with the state
		case strings.HasPrefix(o.Kind, "humanitec/"), o.Kind == bootstrap.ObjOrchestrator:
			g = tui.GroupHumanitec
		case o.Kind == "os/trusted-ca":
			g = tui.GroupCA
		}
		// "org-variable 5minorg/CLOUD_PROVIDER": the group says where.
		_, kind, _ := strings.Cut(o.Kind, "/")
		own[g].Objects = append(own[g].Objects, kind+" "+o.ID)
	}
	items := []tui.TeardownItem{cluster}
	for _, g := range []tui.TeardownGroup{tui.GroupGitea, tui.GroupHumanitec} {
		if len(own[g].Objects) > 0 {
			items = append(items, *own[g])
		}
	}
	if !in.Options.SkipHumanitec {
		if inv, err := bootstrap.HumanitecInventory(ctx, in); err == nil {
			for _, r := range inv.Foreign {
				items = append(items, tui.TeardownItem{Group: tui.GroupForeign, ID: r.Key(), Description: r.String(), Checked: includeForeign})
			}
		} else {
			in.Log.Warn("list Humanitec objects for teardown", "err", err)
		}
	}
	if len(own[tui.GroupCA].Objects) > 0 {
		items = append(items, *own[tui.GroupCA])
	}
	st := tui.TeardownItem{Group: tui.GroupState, ID: in.Store.Path(), Description: "local state " + in.Store.Path() + ", CA and keys", Checked: true}
	if in.LeavesHumanitec() {
		// It lists the Humanitec objects that stay, for a later `down`.
		st.Checked = false
		st.Description += " (kept: it lists this install's Humanitec objects, which --skip-humanitec leaves)"
	}
	return append(items, st)
}

// checked is what a `down --yes` removes: what teardownItems checked.
func checked(items []tui.TeardownItem) []tui.TeardownItem {
	var out []tui.TeardownItem
	for _, it := range items {
		if it.Checked {
			out = append(out, it)
		}
	}
	return out
}

// applySelection makes the install remove exactly what was chosen: the
// groups of this install left unchecked are kept, the objects PocketIDP
// did not create go only when picked, each alone, and the state goes when
// it is picked (even alone: the install is then forgotten, and what it
// made stays). It reports whether anything is to be removed and whether
// the state file goes.
func applySelection(in *bootstrap.Install, all, chosen []tui.TeardownItem) (any, removeState bool, err error) {
	picked := map[tui.TeardownGroup]bool{}
	in.Humanitec.Foreign = nil
	for _, it := range chosen {
		picked[it.Group] = true
		if it.Group == tui.GroupForeign {
			in.Humanitec.Foreign = append(in.Humanitec.Foreign, it.ID)
		}
	}
	present := map[tui.TeardownGroup]bool{}
	for _, it := range all {
		present[it.Group] = true
	}
	for g, prefixes := range groupSteps {
		if !picked[g] && (present[g] || g == tui.GroupCA) {
			if err := in.KeepGroups(prefixes...); err != nil {
				return false, false, err
			}
		}
	}
	return len(chosen) > 0, picked[tui.GroupState], nil
}

// humanitecDescription names where the install's registrations are.
func humanitecDescription(o config.Options) string {
	if o.LocalOrchestrator() {
		return "what this install registered in PocketIDP's local orchestrator (it goes too)"
	}
	return "what this install registered in Humanitec"
}
