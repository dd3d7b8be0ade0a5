package tui

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"testing/iotest"
)

var testItems = []TeardownItem{
	{Group: GroupCluster, ID: "kind/5min-idp", Description: "kind cluster 5min-idp (node 5min-idp-control-plane)", Checked: true},
	{Group: GroupCluster, ID: "container/5min-idp-registry", Description: "registry container 5min-idp-registry", Checked: true},
	{Group: GroupGitea, ID: "gitea/org/5minorg", Description: "org 5minorg with repo backstage", Checked: true},
	{Group: GroupHumanitec, ID: "app/5min-idp-abcd", Description: "app 5min-idp-abcd", Checked: true},
	{Group: GroupHumanitec, ID: "app/5min-backstage-abcd", Description: "app 5min-backstage-abcd", Checked: true},
	{Group: GroupHumanitec, ID: "env-type/5min-local", Description: "environment type 5min-local", Checked: true},
	// A caller's mistake must not preselect what PocketIDP did not create.
	{Group: GroupForeign, ID: "app/shop", Description: "app shop (env 5min-local)", Checked: true},
	{Group: GroupForeign, ID: "class/5min", Description: "resource class 5min", Checked: false},
	{Group: GroupCA, ID: "ca/system", Description: "PocketIDP CA in the system trust store", Checked: true},
	{Group: GroupState, ID: "state", Description: "state file ~/.config/pocketidp/state.json", Checked: true},
}

func ids(items []TeardownItem) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.ID)
	}
	return out
}

func TestTeardownSelectionAndConfirm(t *testing.T) {
	s := start(t, newTeardownModel(testItems), 80, 30)
	s.keep("what exists", s.waitText("8 of 10 selected"))

	// Keep the registry container; pick one foreign app explicitly.
	s.key("down")
	s.key("space")
	for range 6 { // gitea header, org, humanitec header, 3 apps… to the foreign header
		s.key("down")
	}
	s.key("down")
	s.key("down") // app shop
	s.key("space")
	s.keep("selection", s.waitText("8 of 10 selected"))

	s.key("enter")
	confirm := s.waitText("Remove 8 objects?")
	s.keep("confirm", confirm)
	if !strings.Contains(confirm, "app shop") {
		t.Errorf("the confirm does not name the foreign object:\n%s", confirm)
	}

	s.key("n") // Back: nothing happens yet
	s.waitText("space select")
	s.key("enter")
	s.waitText("Remove 8 objects?")
	s.key("y")
	final := s.tm.FinalModel(t, teatestTimeout).(*teardownModel)
	s.keep("final", plain(final.View().Content))
	s.golden()

	got, err := final.result()
	if err != nil {
		t.Fatalf("result: %v", err)
	}
	want := []string{"kind/5min-idp", "gitea/org/5minorg", "app/5min-idp-abcd", "app/5min-backstage-abcd",
		"env-type/5min-local", "app/shop", "ca/system", "state"}
	if strings.Join(ids(got), ",") != strings.Join(want, ",") {
		t.Errorf("selection = %v, want %v", ids(got), want)
	}
}

func TestTeardownForeignNeverPreselected(t *testing.T) {
	m := newTeardownModel(testItems)
	m.setAll(true)
	for _, it := range m.selected() {
		if it.Group == GroupForeign {
			t.Errorf("%s is selected without an explicit choice", it.ID)
		}
	}
	if testItems[6].Checked != true {
		t.Error("the model changed the caller's items")
	}
}

func TestTeardownNothingSelectedAndQuit(t *testing.T) {
	s := start(t, newTeardownModel(testItems), 80, 30)
	s.waitText("8 of 10 selected")
	s.key("n")
	s.key("enter")
	s.waitText("Nothing is selected")
	s.key("q")
	final := s.tm.FinalModel(t, teatestTimeout).(*teardownModel)
	if _, err := final.result(); !errors.Is(err, ErrAborted) {
		t.Errorf("result error = %v, want ErrAborted", err)
	}
}

func TestTeardownScrollsOnSmallTerminal(t *testing.T) {
	s := start(t, newTeardownModel(testItems), 60, 10)
	for range 14 {
		s.key("down")
	}
	f := s.waitText("state file ~/.config")
	if h := strings.Count(f, "\n") + 1; h > 10 {
		t.Errorf("frame is %d lines on a 10-line terminal:\n%s", h, f)
	}
	if w := maxLineWidth(f); w > 60 {
		t.Errorf("frame is %d cells wide on a 60-cell terminal", w)
	}
}

func TestTeardownAccessible(t *testing.T) {
	var out bytes.Buffer
	// huh's accessible multi-select: a number toggles, 0 accepts; then the
	// confirm.
	in := iotest.OneByteReader(strings.NewReader("2\n0\ny\n"))
	got, err := RunTeardown(context.Background(), TeardownInput{Items: testItems, Accessible: true, In: in, Out: &out})
	if err != nil {
		t.Fatalf("RunTeardown: %v\n%s", err, out.String())
	}
	if len(got) != 7 || strings.Contains(strings.Join(ids(got), ","), "registry") {
		t.Errorf("selection = %v, want the preselected 8 without the registry", ids(got))
	}
	if strings.Contains(out.String(), "\x1b") {
		t.Errorf("accessible output has escape codes:\n%q", out.String())
	}
}

// TestTeardownList: a headless down lists what it removes (the checked
// items, each object by its id) and what it leaves, in the screen's group
// order; objects PocketIDP did not create are listed where they go: under
// "Removing" with --include-tutorial-objects (issue 14, point 3).
func TestTeardownList(t *testing.T) {
	items := []TeardownItem{
		{Group: GroupState, Description: "local state, CA and keys", Checked: true},
		{Group: GroupForeign, ID: "app scaffolded", Description: "app scaffolded (has an environment of type 5min-local)"},
		{Group: GroupForeign, ID: "class postgres/5min", Description: "class postgres/5min (the tutorial's resource class)", Checked: true},
		{Group: GroupGitea, Description: "what PocketIDP made in Gitea", Objects: []string{"org 5minorg", "repo 5minorg/backstage"}, Checked: true},
		{Group: GroupCluster, Description: "kind cluster and its containers", Checked: true},
		{Group: GroupCA, Description: "PocketIDP's CA in the system trust store"},
	}
	want := "Removing:\n" +
		"  " + groupTitle(GroupCluster) + ": kind cluster and its containers\n" +
		"  " + groupTitle(GroupGitea) + ": what PocketIDP made in Gitea\n" +
		"      org 5minorg\n" +
		"      repo 5minorg/backstage\n" +
		"  " + groupTitle(GroupForeign) + ": class postgres/5min (the tutorial's resource class)\n" +
		"  " + groupTitle(GroupState) + ": local state, CA and keys\n" +
		"Left in place:\n" +
		"  " + groupTitle(GroupCA) + ": PocketIDP's CA in the system trust store\n" +
		"Left in place, as PocketIDP did not create them (--include-tutorial-objects removes them):\n" +
		"  " + groupTitle(GroupForeign) + ": app scaffolded (has an environment of type 5min-local)\n"
	if got := TeardownList(items); got != want {
		t.Errorf("list:\n%s\nwant:\n%s", got, want)
	}
}

// TestTeardownConfirmSaysWhatGoesAndStays: the confirm page names every
// item removed, with its objects' ids, and every item kept.
func TestTeardownConfirmSaysWhatGoesAndStays(t *testing.T) {
	items := []TeardownItem{
		{Group: GroupGitea, ID: "gitea", Description: "what PocketIDP made in Gitea", Objects: []string{"org 5minorg", "repo 5minorg/backstage"}, Checked: true},
		{Group: GroupForeign, ID: "app scaffolded", Description: "app scaffolded (has an environment of type 5min-local)"},
		{Group: GroupState, ID: "state", Description: "local state", Checked: true},
	}
	s := start(t, newTeardownModel(items), 80, 30)
	s.waitText("repo 5minorg/backstage") // the objects show in the list too
	s.key("enter")
	f := s.waitText("Remove 2 objects?")
	remove, keep, _ := strings.Cut(f, "Keep")
	for _, want := range []string{"what PocketIDP made in Gitea", "repo 5minorg/backstage", "local state"} {
		if !strings.Contains(remove, want) {
			t.Errorf("the confirm does not list %q as removed:\n%s", want, f)
		}
	}
	if !strings.Contains(keep, "app scaffolded") {
		t.Errorf("the confirm does not list app scaffolded as kept:\n%s", f)
	}
}
