package humanitec

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goldenfile "github.com/pocketidp/pocketidp/internal/golden"
	"github.com/pocketidp/pocketidp/internal/secret"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{"7", 7 * time.Second, true},
		{" 30 ", 30 * time.Second, true},
		{"-1", 0, false},
		{"soon", 0, false},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
	}
	for _, tc := range cases {
		got, ok := retryAfter(tc.in, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("retryAfter(%q) = %s, %v; want %s, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestAPIErrorMessages(t *testing.T) {
	cases := []struct {
		status  int
		body    string
		message []string
		fix     string
	}{
		{401, `{"error":"API-000","message":"Could not validate token."}`,
			[]string{"401 Unauthorized", "API-000: Could not validate token."}, "token is wrong or expired"},
		{403, `{"error":"AUTH-403","message":"Forbidden","details":{"role":"member"}}`,
			[]string{"403 Forbidden", `details: {"role":"member"}`}, "Administrator role"},
		{404, `{"error":"APP-404","message":"Application not found."}`,
			[]string{"404 Not Found", "Application not found."}, ""},
		{409, `[{"app_id":"a","env_id":"b"}]`,
			[]string{"409 Conflict", `[{"app_id":"a","env_id":"b"}]`}, ""},
		{502, "<html>Bad gateway</html>", []string{"502 Bad Gateway", "<html>Bad gateway</html>"}, "status.humanitec.com"},
		{429, "", []string{"429 Too Many Requests"}, "rate limiting"},
	}
	for _, tc := range cases {
		e := newAPIError("GET", "/orgs/o/apps", "o", tc.status, []byte(tc.body))
		for _, m := range tc.message {
			if !strings.Contains(e.Error(), m) {
				t.Errorf("%d: %q lacks %q", tc.status, e.Error(), m)
			}
		}
		if tc.fix == "" && e.Fix() != "" || !strings.Contains(e.Fix(), tc.fix) {
			t.Errorf("%d: fix %q, want it to contain %q", tc.status, e.Fix(), tc.fix)
		}
	}
	if got := usersOf(newAPIError("DELETE", "/x", "o", 409, []byte(`[{"app_id":"b","env_id":"x"},{"app_id":"a","env_id":"y"},{"app_id":"b","env_id":"z"}]`))); strings.Join(got, ",") != "b,a" {
		t.Errorf("usersOf = %q", got)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	tok := secret.New("t0ken")
	for _, cfg := range []Config{
		{BaseURL: "ftp://api.humanitec.io", Org: "o", Token: tok},
		{BaseURL: "://", Org: "o", Token: tok},
		{Org: "", Token: tok},
		{Org: "o"},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
	c, err := New(Config{Org: "my-org", Token: tok})
	if err != nil || c.base.String() != DefaultBaseURL {
		t.Errorf("default base URL: %v, %v", c, err)
	}
}

// The payloads PocketIDP registers, as a golden file. Secrets show as
// [redacted]: the spec holds them as secret.Value until they are sent.
func TestSpecGolden(t *testing.T) {
	sp := NewSpec(SpecInput{
		InstallID: testInstall, Org: "my-org", Token: secret.New("hum-secret-token"),
		Cluster: testCluster(), AgentPublicKeyPEM: "-----BEGIN PUBLIC KEY-----\nUFVCTElD\n-----END PUBLIC KEY-----\n",
	})
	got, err := json.MarshalIndent(sp, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	keyData := base64.StdEncoding.EncodeToString([]byte(testCluster().ClientKey.Reveal() + "\n"))
	for _, leak := range []string{"hum-secret-token", "c2VjcmV0IGtleQ", keyData} {
		if strings.Contains(string(got), leak) {
			t.Errorf("the rendered spec shows a secret (%s)", leak)
		}
	}
	goldenfile.Check(t, filepath.Join("testdata", "spec.golden.json"), got)

	// What is sent has the secrets in clear, and only there.
	for _, d := range sp.Definitions {
		if d.ID != Prefix(testInstall)+DefCluster {
			continue
		}
		sent, _ := json.Marshal(revealed(d))
		if !strings.Contains(string(sent), keyData) {
			t.Errorf("the k8s-cluster definition is sent without its client key: %s", sent)
		}
	}
}
