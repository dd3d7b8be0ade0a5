package tui

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/exp/golden"
)

func TestSummaryAndFailureCards(t *testing.T) {
	logPath := "/home/ada/.cache/pocketidp/logs/up-20260314-092653.log"
	gitea := []Login{{Service: "Gitea", User: "5minadmin", Password: "5minadmin"}}
	tests := []struct {
		name  string
		card  string
		wants []string
	}{
		{"summary", RenderSummary(Summary{
			InstallID: "abcd", Port: 8443, Logins: gitea,
			BackstageURL: "https://5min-backstage-abcd-0001.localhost:8443",
			HumanitecOrg: "acme", HumanitecApps: []string{"5min-idp-abcd", "5min-backstage-abcd"},
			LogPath: logPath,
		}, 80), []string{"https://git.localhost:8443", "https://5min-backstage-abcd-0001.localhost:8443", "5minadmin / 5minadmin", "5min-local", "add :8443"}},
		{"summary-coder", RenderSummary(Summary{
			InstallID: "abcd", Port: 9443, Logins: gitea, HumanitecOrg: "acme",
			HumanitecApps: []string{"5min-idp-abcd", "5min-backstage-abcd"},
			Coder:         true, Workspace: "ada-idp", LogPath: logPath, ForwardPort: 443,
		}, 80), []string{"coder port-forward ada-idp --tcp 9443:443", "https://git.localhost:9443"}},
		{"summary-skipped-humanitec", RenderSummary(Summary{
			Port: 8443, Logins: gitea, SkippedHumanitec: true, LogPath: logPath,
		}, 60), []string{"orchestrator was skipped"}},
		{"summary-local-orchestrator", RenderSummary(Summary{
			InstallID: "abcd", Port: 8443, Logins: gitea, HumanitecOrg: "5min-local-abcd",
			HumanitecApps: []string{"5min-idp-abcd", "5min-backstage-abcd"}, OrchestratorURL: "https://orchestrator.localhost:8443/", LogPath: logPath,
		}, 80), []string{"https://orchestrator.localhost:8443/", "local orchestrator: org 5min-local-abcd", "instead of humctl login", "app 5min-backstage-abcd"}},
		{"failure", RenderFailure(Failure{
			Step: "humanitec/check", Error: "GET /orgs/acme: 401 Unauthorized",
			Fix:     "set HUMANITEC_TOKEN to an API token of a service user with the Administrator role",
			LogPath: logPath, Resume: "pocketidp up",
		}, 80), []string{"Step humanitec/check failed", "401 Unauthorized", "fix", "Administrator role", logPath}},
		{"failure-narrow", RenderFailure(Failure{
			Step: "cluster", Error: "kind create cluster: node image pull timed out after 10m0s", LogPath: logPath,
		}, 44), []string{"Step cluster failed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := plain(tt.card)
			golden.RequireEqual(t, got+"\n")
			for _, w := range tt.wants {
				if !strings.Contains(strings.Join(strings.Fields(got), " "), w) {
					t.Errorf("card lacks %q", w)
				}
			}
		})
	}
}

func TestRenderStatus(t *testing.T) {
	tests := []struct {
		name string
		s    Status
		want string
	}{
		{"installed", Status{
			Installed: true, InstallID: "abcd", Name: "5min-idp", StateDir: "/home/ada/.config/pocketidp",
			Components: []Component{
				{Name: "cluster", Health: Healthy, Detail: "kind 5min-idp, node 5min-idp-control-plane running"},
				{Name: "ingress", Health: Healthy, Detail: "Traefik answers on 127.0.0.1:8443"},
				{Name: "gitea", Health: Healthy, Detail: "1.27.3, 5minorg/backstage present"},
				{Name: "runner", Health: Degraded, Detail: "registered, offline for 4m"},
				{Name: "humanitec", Health: Unknown, Detail: "HUMANITEC_TOKEN not set"},
				{Name: "backstage", Health: Missing, Detail: "not deployed yet"},
			},
			URLs: []Link{
				{Name: "Gitea", URL: "https://git.localhost:8443", Login: "5minadmin / 5minadmin", Answer: "HTTP 200", Answers: true},
				{Name: "Backstage", URL: "https://5min-backstage-abcd-0001.localhost:8443", Answer: "no answer: connection refused"},
			},
		}, "no answer: connection refused"},
		{"not-installed", Status{StateDir: "/home/ada/.config/pocketidp"}, "run pocketidp up"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := plain(RenderStatus(tt.s, 80))
			golden.RequireEqual(t, got+"\n")
			if !strings.Contains(got, tt.want) {
				t.Errorf("status lacks %q:\n%s", tt.want, got)
			}
			if w := maxLineWidth(got); w > 80 {
				t.Errorf("status is %d cells wide on an 80-cell terminal", w)
			}
		})
	}
}

func TestSelectMode(t *testing.T) {
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	tests := []struct {
		name string
		in   ModeInput
		want Mode
	}{
		{"terminal", ModeInput{IsTTY: true, Output: "text", Getenv: env("TERM", "xterm-256color")}, Interactive},
		{"no terminal", ModeInput{IsTTY: false, Output: "text"}, Plain},
		{"--yes", ModeInput{IsTTY: true, Yes: true}, Plain},
		{"coder", ModeInput{IsTTY: true, Getenv: env("CODER", "true")}, Plain},
		{"ci true", ModeInput{IsTTY: true, Getenv: env("CI", "true")}, Plain},
		{"ci 1", ModeInput{IsTTY: true, Getenv: env("CI", "1")}, Plain},
		{"ci false", ModeInput{IsTTY: true, Getenv: env("CI", "false")}, Interactive},
		{"json on a terminal", ModeInput{IsTTY: true, Output: "json"}, JSON},
		{"json in ci", ModeInput{IsTTY: false, Output: "json", Getenv: env("CI", "true")}, JSON},
		{"dumb terminal", ModeInput{IsTTY: true, Getenv: env("TERM", "dumb")}, Accessible},
		{"dumb without tty", ModeInput{IsTTY: false, Getenv: env("TERM", "dumb")}, Plain},
		{"asked for accessible", ModeInput{IsTTY: true, Accessible: true}, Accessible},
		{"ACCESSIBLE env", ModeInput{IsTTY: true, Getenv: env("ACCESSIBLE", "1")}, Accessible},
		{"nil getenv", ModeInput{IsTTY: true}, Interactive},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SelectMode(tt.in); got != tt.want {
				t.Errorf("SelectMode() = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestCardsKeepBorders: on a small terminal the cards wrap their text
// inside the box; every line keeps its border (issue 14, point 12).
func TestCardsKeepBorders(t *testing.T) {
	long := "/home/ada-lovelace/.cache/pocketidp/logs/up-20260314-092653-with-a-long-name.log"
	for _, w := range []int{60, 44} {
		for name, card := range map[string]string{
			"summary": RenderSummary(Summary{InstallID: "abcd", Port: 8443, Logins: []Login{{Service: "Gitea", User: "5minadmin", Password: "5minadmin"}},
				BackstageURL: "https://5min-backstage-abcd-0001.localhost:8443", HumanitecOrg: "acme",
				HumanitecApps: []string{"5min-idp-abcd", "5min-backstage-abcd"}, LogPath: long}, w),
			"failure": RenderFailure(Failure{Step: "humanitec/definitions", Error: strings.Repeat("a long error message ", 8),
				Fix: strings.Repeat("a long fix ", 8), LogPath: long, Resume: "pocketidp up"}, w),
			"stopped": RenderStopped(Stopped{Running: []string{"cluster", "gitea/chart", "humanitec/apps"}, Finished: 3, Total: 9,
				Resume: "pocketidp up", LogPath: long}, w),
		} {
			lines := strings.Split(strings.TrimRight(plain(card), "\n"), "\n")
			for i, l := range lines {
				first, last := []rune(l)[0], []rune(l)[len([]rune(l))-1]
				ok := (i == 0 && first == '╭' && last == '╮') || (i == len(lines)-1 && first == '╰' && last == '╯') ||
					(i > 0 && i < len(lines)-1 && first == '│' && last == '│')
				if !ok || maxLineWidth(l) > w {
					t.Errorf("%s at %d columns, line %d lost its border or is too wide:\n%s", name, w, i, plain(card))
					break
				}
			}
		}
	}
}
