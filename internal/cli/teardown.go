package cli

import (
	"context"
	"strings"

	"github.com/pocketidp/pocketidp/internal/bootstrap"
	"github.com/pocketidp/pocketidp/internal/tui"
)

// groupSteps maps each teardown group to the step-name prefixes whose Undo
// removes it.
var groupSteps = map[tui.TeardownGroup][]string{
	tui.GroupCluster:   {bootstrap.StepCluster, bootstrap.StepTLS, bootstrap.StepCoreDNS, "charts/traefik", "charts/gitea", "charts/registry", "charts/runner"},
	tui.GroupGitea:     {"gitea/"},
	tui.GroupHumanitec: {"humanitec/", bootstrap.StepAgent},
	tui.GroupCA:        {bootstrap.StepTrust},
}

// teardownItems lists what exists now: this install's objects from the
// state, and the Humanitec objects on 5min-local that it did not create
// (asked live; never preselected).
func teardownItems(ctx context.Context, in *bootstrap.Install) []tui.TeardownItem {
	f := in.Store.Snapshot()
	items := []tui.TeardownItem{}
	if !in.Options.ExistingCluster() {
		items = append(items, tui.TeardownItem{Group: tui.GroupCluster, ID: in.Options.Name, Description: "kind cluster and its containers", Checked: true})
	} else {
		items = append(items, tui.TeardownItem{Group: tui.GroupCluster, ID: "releases", Description: "PocketIDP's charts in the existing cluster (the cluster stays)", Checked: true})
	}
	for _, o := range f.Objects {
		g := tui.GroupCluster
		switch {
		case strings.HasPrefix(o.Kind, "gitea/"):
			g = tui.GroupGitea
		case strings.HasPrefix(o.Kind, "humanitec/") && in.Options.SkipHumanitec:
			continue // --skip-humanitec: they stay, with the state
		case strings.HasPrefix(o.Kind, "humanitec/"):
			g = tui.GroupHumanitec
		case o.Kind == "os/trusted-ca":
			g = tui.GroupCA
		default:
			continue // part of the cluster item
		}
		// "org-variable 5minorg/CLOUD_PROVIDER": the group says where.
		_, kind, _ := strings.Cut(o.Kind, "/")
		items = append(items, tui.TeardownItem{Group: g, ID: o.ID, Description: kind + " " + o.ID, Checked: true})
	}
	if !in.Options.SkipHumanitec {
		if inv, err := bootstrap.HumanitecInventory(ctx, in); err == nil {
			for _, r := range inv.Foreign {
				items = append(items, tui.TeardownItem{Group: tui.GroupForeign, ID: r.String(), Description: r.Detail})
			}
		} else {
			in.Log.Warn("list Humanitec objects for teardown", "err", err)
		}
	}
	items = append(items, tui.TeardownItem{Group: tui.GroupState, ID: in.Store.Path(), Description: "local state, CA and keys", Checked: true})
	return items
}

// applySelection keeps the groups the user left unchecked and reports
// whether anything is to be removed and whether the state file goes.
func applySelection(in *bootstrap.Install, all, chosen []tui.TeardownItem) (any, removeState bool, err error) {
	picked := map[tui.TeardownGroup]bool{}
	for _, it := range chosen {
		picked[it.Group] = true
	}
	present := map[tui.TeardownGroup]bool{}
	for _, it := range all {
		present[it.Group] = true
	}
	for g, prefixes := range groupSteps {
		if present[g] && !picked[g] {
			if err := in.KeepGroups(prefixes...); err != nil {
				return false, false, err
			}
		}
	}
	in.Humanitec.IncludeTutorialObjects = in.Humanitec.IncludeTutorialObjects || picked[tui.GroupForeign]
	// The state goes only when everything it tracks goes with it.
	removeState = picked[tui.GroupState] && len(in.Keep) == 0
	return len(chosen) > 0, removeState, nil
}
