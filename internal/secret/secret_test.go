package secret

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

const tok = "hum-token-1234567890"

func TestValueNeverPrints(t *testing.T) {
	v := New(tok)
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "token", v)
	js, _ := json.Marshal(struct{ T Value }{v})
	for name, out := range map[string]string{
		"%v":   fmt.Sprintf("%v", v),
		"%s":   fmt.Sprintf("%s", v),
		"%#v":  fmt.Sprintf("%#v", v),
		"%+v":  fmt.Sprintf("%+v", struct{ T Value }{v}),
		"slog": logs.String(),
		"json": string(js),
	} {
		if strings.Contains(out, tok) {
			t.Errorf("%s leaked the token: %s", name, out)
		}
		if !strings.Contains(out, Placeholder) {
			t.Errorf("%s shows no placeholder: %s", name, out)
		}
	}
	if v.Reveal() != tok {
		t.Fatalf("Reveal = %q", v.Reveal())
	}
}

func TestRedactorWriter(t *testing.T) {
	var r Redactor
	r.Add(New(tok), New("ab")) // "ab" is too short to mask
	var out bytes.Buffer
	w := r.Writer(&out)
	fmt.Fprintf(w, "Authorization: Bearer %s and ab\n", tok)
	if got, want := out.String(), "Authorization: Bearer [redacted] and ab\n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestFingerprint(t *testing.T) {
	a, b := New(tok).Fingerprint("abcd"), New(tok+"x").Fingerprint("abcd")
	if a == b || a == "" || strings.Contains(a, tok) {
		t.Fatalf("fingerprints %q %q", a, b)
	}
	if New(tok).Fingerprint("abcd") != a {
		t.Fatal("fingerprint is not stable")
	}
	if New("").Fingerprint("abcd") != "" {
		t.Fatal("empty secret has a fingerprint")
	}
}
