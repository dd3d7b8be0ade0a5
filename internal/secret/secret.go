// Package secret keeps secret values out of logs, events and output.
//
// A Value never prints itself: fmt, slog and encoding/json all see a
// placeholder. A Redactor knows every secret value of a run and replaces it in
// any text written through it, so a token that reaches a log line or an error
// message from a library is masked all the same.
package secret

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"strings"
	"sync"
)

// Placeholder is what a secret is shown as.
const Placeholder = "[redacted]"

// Value holds a secret. The zero Value is empty.
type Value struct{ v string }

// New wraps s.
func New(s string) Value { return Value{v: strings.TrimSpace(s)} }

// Reveal returns the secret itself, for the few places that must send it.
func (v Value) Reveal() string { return v.v }

// Empty reports whether no secret is set.
func (v Value) Empty() bool { return v.v == "" }

// String hides the value from fmt.
func (v Value) String() string {
	if v.v == "" {
		return ""
	}
	return Placeholder
}

// GoString hides the value from %#v.
func (v Value) GoString() string { return v.String() }

// LogValue hides the value from slog.
func (v Value) LogValue() slog.Value { return slog.StringValue(v.String()) }

// MarshalJSON hides the value from encoding/json.
func (v Value) MarshalJSON() ([]byte, error) { return []byte(`"` + v.String() + `"`), nil }

// Fingerprint returns a salted hash of the value: enough to tell whether a
// secret changed between runs without keeping it.
func (v Value) Fingerprint(salt string) string {
	if v.v == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(salt + "\x00" + v.v))
	return hex.EncodeToString(sum[:])
}

// Redactor replaces known secrets in text. It is safe for concurrent use.
type Redactor struct {
	mu      sync.RWMutex
	secrets []string
}

// Add registers secrets to mask. Values shorter than 4 characters are
// ignored: masking them would mangle ordinary words.
func (r *Redactor) Add(vals ...Value) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range vals {
		if len(v.v) >= 4 {
			r.secrets = append(r.secrets, v.v)
		}
	}
}

// Redact returns s with every known secret replaced by the placeholder.
func (r *Redactor) Redact(s string) string {
	if r == nil {
		return s
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, sec := range r.secrets {
		s = strings.ReplaceAll(s, sec, Placeholder)
	}
	return s
}

// Writer returns a writer that redacts what it writes before passing it to w.
// Each Write is redacted on its own, so callers should write whole lines, as
// loggers and renderers do.
func (r *Redactor) Writer(w io.Writer) io.Writer { return &writer{r: r, w: w} }

type writer struct {
	r *Redactor
	w io.Writer
}

func (w *writer) Write(p []byte) (int, error) {
	if _, err := io.WriteString(w.w, w.r.Redact(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}
