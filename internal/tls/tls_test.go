package tls

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestHosts(t *testing.T) {
	defaults := []string{"localhost", "git.localhost", "5min-idp-control-plane", "127.0.0.1", "::1"}
	tests := []struct {
		name    string
		extra   []string
		want    []string
		wantErr string
	}{
		{"defaults", nil, defaults, ""},
		{"extras deduplicated and normalised", []string{"Backstage-abcd.localhost.", "git.localhost", " ", "10.1.2.3"},
			append(slices.Clone(defaults), "backstage-abcd.localhost", "10.1.2.3"), ""},
		{"bare localhost wildcard", []string{"*.localhost"}, nil, "wildcard"},
		{"TLD wildcard", []string{"*.com"}, nil, "wildcard"},
		{"port is not a host", []string{"git.localhost:8443"}, nil, "not a host name"},
	}
	// Another cluster name: the course's name for Gitea stays covered.
	if got, _ := Hosts("demo"); !slices.Contains(got, "demo-control-plane") || !slices.Contains(got, "5min-idp-control-plane") {
		t.Errorf("Hosts(demo) = %v, want the node's and the course's names", got)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Hosts("5min-idp", tt.extra...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Hosts = %v, %v; want error %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("Hosts = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newStore(t *testing.T) (*Store, *clock) {
	t.Helper()
	c := &clock{t: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)}
	return &Store{Dir: filepath.Join(t.TempDir(), "tls"), Now: c.now}, c
}

func mustHosts(t *testing.T, extra ...string) []string {
	t.Helper()
	h, err := Hosts("5min-idp", extra...)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestCA(t *testing.T) {
	s, c := newStore(t)
	ca, created, err := s.EnsureCA()
	if err != nil || !created {
		t.Fatalf("EnsureCA = %v, created %v", err, created)
	}
	cert := ca.Cert
	if !cert.IsCA || !cert.BasicConstraintsValid || cert.MaxPathLen != 1 || cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Errorf("not a CA for leaves and one intermediate: IsCA %v MaxPathLen %v usage %v", cert.IsCA, cert.MaxPathLen, cert.KeyUsage)
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		t.Errorf("CA key is %T, want ECDSA P-256", cert.PublicKey)
	}
	if got := cert.NotAfter.Sub(c.t); got < 3650*24*time.Hour || got > 3654*24*time.Hour {
		t.Errorf("CA valid for %s, want 10 years", got)
	}
	for name, want := range map[string]os.FileMode{caKeyFile: 0o600, caCertFile: 0o644} {
		fi, err := os.Stat(filepath.Join(s.Dir, name))
		if err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: %v, mode %v, want %v", name, err, fi.Mode().Perm(), want)
		}
	}
	if fi, _ := os.Stat(s.Dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("store folder mode %v, want 0700", fi.Mode().Perm())
	}

	// Made once: another run (a new Store on the same folder) reuses it.
	again := &Store{Dir: s.Dir, Now: c.now}
	ca2, created, err := again.EnsureCA()
	if err != nil || created || ca2.Fingerprint() != ca.Fingerprint() {
		t.Errorf("second EnsureCA = %v, created %v, same %v", err, created, ca2.Fingerprint() == ca.Fingerprint())
	}

	// Ten years on it is replaced rather than used past its end.
	c.t = cert.NotAfter.Add(-time.Hour)
	ca3, created, err := s.EnsureCA()
	if err != nil || !created || ca3.Fingerprint() == ca.Fingerprint() {
		t.Errorf("EnsureCA at the end of the CA = %v, created %v", err, created)
	}
}

// The leaf verifies against the CA for every one of its hosts, and for
// nothing else.
func TestLeafVerifiesForEverySAN(t *testing.T) {
	s, c := newStore(t)
	hosts := mustHosts(t, "5min-backstage-abcd-1234.localhost")
	ca, leaf, renewed, err := s.Ensure(hosts)
	if err != nil || renewed != "no certificate yet" {
		t.Fatalf("Ensure = %v, renewed %q", err, renewed)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	for _, h := range hosts {
		_, err := leaf.Cert.Verify(x509.VerifyOptions{DNSName: h, Roots: roots, CurrentTime: c.t,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
		if err != nil {
			t.Errorf("leaf does not verify for %s: %v", h, err)
		}
	}
	for _, h := range []string{"other.localhost", "example.com", "10.0.0.1"} {
		if _, err := leaf.Cert.Verify(x509.VerifyOptions{DNSName: h, Roots: roots, CurrentTime: c.t}); err == nil {
			t.Errorf("leaf verifies for %s, which it must not cover", h)
		}
	}
	if slices.ContainsFunc(leaf.Cert.DNSNames, func(n string) bool { return strings.HasPrefix(n, "*") }) {
		t.Errorf("leaf has a wildcard: %v", leaf.Cert.DNSNames)
	}
	if _, ok := leaf.Cert.PublicKey.(*ecdsa.PublicKey); !ok {
		t.Errorf("leaf key is %T, want ECDSA", leaf.Cert.PublicKey)
	}
	if fi, err := os.Stat(filepath.Join(s.Dir, leafKeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("leaf key file: %v %v, want mode 0600", fi, err)
	}
	if !strings.Contains(string(leaf.KeyPEM()), "PRIVATE KEY") {
		t.Error("KeyPEM is not a PEM private key")
	}
}

func TestLeafReuseAndRenewal(t *testing.T) {
	s, c := newStore(t)
	hosts := mustHosts(t)
	_, first, _, err := s.Ensure(hosts)
	if err != nil {
		t.Fatal(err)
	}
	serial := func(l *Leaf) string { return l.Cert.SerialNumber.String() }

	// Another run, even in another order of hosts: the same certificate.
	next := &Store{Dir: s.Dir, Now: c.now}
	reversed := slices.Clone(hosts)
	slices.Reverse(reversed)
	_, leaf, renewed, err := next.Ensure(reversed)
	if err != nil || renewed != "" || serial(leaf) != serial(first) {
		t.Fatalf("re-run: %v, renewed %q, same %v", err, renewed, serial(leaf) == serial(first))
	}
	if _, _, why, _ := next.Current(hosts); why != "" {
		t.Errorf("Current on a fresh leaf = %q", why)
	}

	// 31 days before the end: kept; 29 days before: renewed.
	c.t = first.Cert.NotAfter.Add(-31 * 24 * time.Hour)
	if _, leaf, renewed, _ = s.Ensure(hosts); renewed != "" || serial(leaf) != serial(first) {
		t.Errorf("31 days ahead: renewed %q", renewed)
	}
	c.t = first.Cert.NotAfter.Add(-29 * 24 * time.Hour)
	if _, _, why, _ := s.Current(hosts); !strings.Contains(why, "expires") {
		t.Errorf("Current near expiry = %q", why)
	}
	_, leaf, renewed, err = s.Ensure(hosts)
	if err != nil || !strings.Contains(renewed, "expires") || serial(leaf) == serial(first) {
		t.Fatalf("29 days ahead: %v, renewed %q", err, renewed)
	}
	if !leaf.Cert.NotAfter.After(first.Cert.NotAfter) {
		t.Errorf("renewed leaf ends %s, not after the old %s", leaf.Cert.NotAfter, first.Cert.NotAfter)
	}
	renewedLeaf := leaf

	// A new host: reissued, and covering it.
	more := mustHosts(t, "5min-backstage-abcd-1234.localhost")
	_, leaf, renewed, err = s.Ensure(more)
	if err != nil || !strings.Contains(renewed, "hosts changed") || serial(leaf) == serial(renewedLeaf) {
		t.Fatalf("new host: %v, renewed %q", err, renewed)
	}
	if !slices.Contains(leaf.Cert.DNSNames, "5min-backstage-abcd-1234.localhost") {
		t.Errorf("reissued leaf lacks the new host: %v", leaf.Cert.DNSNames)
	}
	// And dropping it again reissues too.
	if _, _, renewed, _ = s.Ensure(hosts); !strings.Contains(renewed, "hosts changed") {
		t.Errorf("host removed: renewed %q", renewed)
	}
}

func TestLeafReissuedWhenBroken(t *testing.T) {
	tests := []struct {
		name    string
		breakIt func(t *testing.T, s *Store)
		want    string
	}{
		{"new CA", func(t *testing.T, s *Store) {
			for _, f := range []string{caCertFile, caKeyFile} {
				if err := os.Remove(filepath.Join(s.Dir, f)); err != nil {
					t.Fatal(err)
				}
			}
		}, "not signed by the current CA"},
		{"key replaced", func(t *testing.T, s *Store) {
			data, err := os.ReadFile(filepath.Join(s.Dir, caKeyFile))
			if err != nil {
				t.Fatal(err)
			}
			// A crash between writing a new key and its certificate.
			if err := os.WriteFile(filepath.Join(s.Dir, leafKeyFile), data, 0o600); err != nil {
				t.Fatal(err)
			}
		}, "does not match its key"},
		{"certificate gone", func(t *testing.T, s *Store) {
			if err := os.Remove(filepath.Join(s.Dir, leafCertFile)); err != nil {
				t.Fatal(err)
			}
		}, "no certificate yet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newStore(t)
			hosts := mustHosts(t)
			if _, _, _, err := s.Ensure(hosts); err != nil {
				t.Fatal(err)
			}
			tt.breakIt(t, s)
			ca, leaf, renewed, err := s.Ensure(hosts)
			if err != nil || !strings.Contains(renewed, tt.want) {
				t.Fatalf("Ensure = %v, renewed %q, want %q", err, renewed, tt.want)
			}
			if err := leaf.Cert.CheckSignatureFrom(ca.Cert); err != nil {
				t.Errorf("reissued leaf not signed by the CA: %v", err)
			}
		})
	}
}

func TestCurrentChangesNothing(t *testing.T) {
	s, _ := newStore(t)
	_, _, why, err := s.Current(mustHosts(t))
	if err != nil || why != "no CA yet" {
		t.Errorf("Current on an empty store = %q, %v", why, err)
	}
	if _, err := os.Stat(s.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Current created the store folder: %v", err)
	}
}

func TestCorruptCA(t *testing.T) {
	s, _ := newStore(t)
	if _, _, err := s.EnsureCA(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.Dir, caCertFile), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A damaged CA is reported, never silently replaced: a trusted install
	// would otherwise lose its trust without a word.
	if _, _, err := s.EnsureCA(); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("EnsureCA with a corrupt CA = %v", err)
	}
}

func TestRemove(t *testing.T) {
	s, _ := newStore(t)
	if _, _, _, err := s.Ensure(mustHosts(t)); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("store folder left: %v", err)
	}
	if err := s.Remove(); err != nil {
		t.Errorf("second Remove = %v, want success", err)
	}
}

func TestSystemTrustDoesNotTrustNewCA(t *testing.T) {
	s, _ := newStore(t)
	s.Now = nil
	ca, _, err := s.EnsureCA()
	if err != nil {
		t.Fatal(err)
	}
	if (SystemTrust{}).Trusted(ca.Cert) {
		t.Error("a CA made a moment ago is reported as trusted by the system")
	}
}

// The no-op re-run path: load CA and leaf, find nothing to do.
func BenchmarkEnsureReuse(b *testing.B) {
	s := &Store{Dir: b.TempDir()}
	hosts, _ := Hosts("5min-idp")
	if _, _, _, err := s.Ensure(hosts); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, _, renewed, err := s.Ensure(hosts); err != nil || renewed != "" {
			b.Fatal(err, renewed)
		}
	}
}

// A first run: CA and leaf made and written.
func BenchmarkEnsureCold(b *testing.B) {
	hosts, _ := Hosts("5min-idp")
	for b.Loop() {
		s := &Store{Dir: b.TempDir()}
		if _, _, _, err := s.Ensure(hosts); err != nil {
			b.Fatal(err)
		}
	}
}

// CACertPEM reads what a client trusts, without the key.
func TestCACertPEM(t *testing.T) {
	s := &Store{Dir: t.TempDir()}
	if _, err := s.CACertPEM(); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("CACertPEM before any CA = %v, want not exist", err)
	}
	ca, _, err := s.EnsureCA()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(s.Dir, caKeyFile)); err != nil {
		t.Fatal(err)
	}
	got, err := s.CACertPEM()
	if err != nil || !bytes.Equal(got, ca.CertPEM) {
		t.Errorf("CACertPEM without the key = %q, %v; want the CA's certificate", got, err)
	}
}
