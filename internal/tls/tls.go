// Package tls is PocketIDP's local certificate authority: a CA made once
// and kept in the state dir, and the ingress's leaf certificate, reissued
// before it expires or when the hosts it must cover change. It also puts
// the leaf into the cluster as a kubernetes.io/tls Secret, and the CA into
// the OS trust store on request.
package tls

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	cryptotls "crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/renameio/v2"

	"github.com/pocketidp/pocketidp/internal/config"
)

// Lifetimes. The leaf stays under the 398 days browsers accept and is
// reissued RenewBefore its end, so a weekly `up` never serves an expired one.
const (
	CAValidityYears = 10
	LeafValidity    = 397 * 24 * time.Hour
	RenewBefore     = 30 * 24 * time.Hour
	// backdate tolerates clocks that lag (a VM after sleep).
	backdate = time.Hour
)

// Files in the store's folder.
const (
	caCertFile   = "ca.crt"
	caKeyFile    = "ca.key"
	leafCertFile = "tls.crt"
	leafKeyFile  = "tls.key"
)

// Hosts returns the names the leaf certificate covers: localhost,
// git.localhost, the kind node name (how other containers on the engine's
// network reach the ingress), the loopback addresses, then extra (the app
// hosts the install knows), without duplicates. A wildcard under
// .localhost is refused: browsers reject *.localhost, so every app host is
// listed by name.
func Hosts(clusterName string, extra ...string) ([]string, error) {
	hosts := []string{"localhost", config.GiteaHost, config.NodeName(clusterName), "127.0.0.1", "::1"}
	if course := config.CourseGiteaHost; !slices.Contains(hosts, course) {
		// The course's Backstage reaches Gitea by this name, whatever the
		// cluster is called.
		hosts = append(hosts, course)
	}
	for _, h := range extra {
		h = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(h), "."))
		switch {
		case h == "":
			continue
		case strings.HasPrefix(h, "*.") && strings.Count(h, ".") < 2:
			return nil, fmt.Errorf("certificate host %q: a wildcard this broad is rejected by browsers; list each host", h)
		case strings.ContainsAny(h, " /:") && net.ParseIP(h) == nil:
			return nil, fmt.Errorf("certificate host %q is not a host name or IP address", h)
		}
		if !slices.Contains(hosts, h) {
			hosts = append(hosts, h)
		}
	}
	return hosts, nil
}

// CA is the local certificate authority.
type CA struct {
	Cert    *x509.Certificate
	CertPEM []byte
	key     *ecdsa.PrivateKey
}

// Lend hands the CA's certificate and key to sign for one signature (the
// local orchestrator's intermediate CA) and takes the key back: it is never
// returned, so it cannot be kept, written out or sent into the cluster.
func (ca *CA) Lend(sign func(cert *x509.Certificate, key crypto.Signer) error) error {
	return sign(ca.Cert, ca.key)
}

// Fingerprint is the SHA-256 of the CA certificate, as browsers show it.
func (ca *CA) Fingerprint() string {
	sum := sha256.Sum256(ca.Cert.Raw)
	return hex.EncodeToString(sum[:])
}

// Leaf is the ingress's certificate and key.
type Leaf struct {
	Cert    *x509.Certificate
	CertPEM []byte
	keyPEM  []byte
}

// KeyPEM is the leaf's private key; it goes into the Secret and nowhere else.
func (l *Leaf) KeyPEM() []byte { return l.keyPEM }

// Store keeps the CA and the leaf in a folder of the state dir.
type Store struct {
	Dir string
	// Now is the clock; nil is time.Now. Tests move it to expire things.
	Now func() time.Time
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Store) path(name string) string { return filepath.Join(s.Dir, name) }

// LoadCA reads the CA; the error wraps os.ErrNotExist when there is none.
func (s *Store) LoadCA() (*CA, error) {
	certPEM, key, err := s.readPair(caCertFile, caKeyFile)
	if err != nil {
		return nil, fmt.Errorf("read CA: %w", err)
	}
	cert, err := parseCert(certPEM)
	if err != nil {
		return nil, fmt.Errorf("read CA %s: %w", s.path(caCertFile), err)
	}
	if !cert.IsCA || !publicKeyMatches(cert, key) {
		return nil, fmt.Errorf("read CA: %s is not a CA certificate for the key in %s", s.path(caCertFile), s.path(caKeyFile))
	}
	return &CA{Cert: cert, CertPEM: certPEM, key: key}, nil
}

// CACertPEM reads the CA's certificate only: what a client trusts. The key
// is left unread. The error wraps os.ErrNotExist when there is none.
func (s *Store) CACertPEM() ([]byte, error) {
	b, err := os.ReadFile(s.path(caCertFile))
	if err != nil {
		return nil, fmt.Errorf("read CA certificate: %w", err)
	}
	if _, err := parseCert(b); err != nil {
		return nil, fmt.Errorf("read CA certificate %s: %w", s.path(caCertFile), err)
	}
	return b, nil
}

// EnsureCA returns the CA, making it on first use. A CA that has expired
// (ten years on) is replaced; created reports a new CA, which a trusted
// install must trust again.
func (s *Store) EnsureCA() (ca *CA, created bool, err error) {
	ca, err = s.LoadCA()
	switch {
	case err == nil && s.now().Before(ca.Cert.NotAfter.Add(-RenewBefore)):
		return ca, false, nil
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return nil, false, err
	}
	ca, err = s.newCA()
	if err != nil {
		return nil, false, err
	}
	return ca, true, nil
}

func (s *Store) newCA() (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("make CA key: %w", err)
	}
	serial, err := serialNumber()
	if err != nil {
		return nil, err
	}
	now := s.now()
	who := "pocketidp"
	if h, err := os.Hostname(); err == nil {
		who += "@" + h
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		// The serial in the name keeps two installs' CAs apart in a trust
		// store listing.
		Subject: pkix.Name{
			CommonName:         "PocketIDP local CA " + serial.Text(16)[:8],
			Organization:       []string{"PocketIDP local development CA"},
			OrganizationalUnit: []string{who},
		},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.AddDate(CAValidityYears, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		// It signs leaves, and one intermediate below it: the local
		// orchestrator's issuer, whose name constraints allow *.localhost
		// only (orchestrator.NewIntermediate). A path length of 0 made
		// every app certificate from that issuer fail to verify (found by
		// the real-cluster e2e).
		MaxPathLen: 1,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("make CA certificate: %w", err)
	}
	cert, _ := x509.ParseCertificate(der)
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := s.writePair(caCertFile, certPEM, caKeyFile, key); err != nil {
		return nil, fmt.Errorf("save CA: %w", err)
	}
	return &CA{Cert: cert, CertPEM: certPEM, key: key}, nil
}

// LoadLeaf reads the leaf; the error wraps os.ErrNotExist when there is none.
func (s *Store) LoadLeaf() (*Leaf, error) {
	certPEM, key, err := s.readPair(leafCertFile, leafKeyFile)
	if err != nil {
		return nil, fmt.Errorf("read certificate: %w", err)
	}
	cert, err := parseCert(certPEM)
	if err != nil {
		return nil, fmt.Errorf("read certificate %s: %w", s.path(leafCertFile), err)
	}
	keyPEM, err := encodeKey(key)
	if err != nil {
		return nil, err
	}
	if !publicKeyMatches(cert, key) {
		// A crash between writing the key and the certificate: reissue.
		return &Leaf{Cert: cert, CertPEM: certPEM}, nil
	}
	return &Leaf{Cert: cert, CertPEM: certPEM, keyPEM: keyPEM}, nil
}

// RenewReason says why leaf must be (re)issued for hosts under ca at now,
// or "" when it is fine as it is.
func RenewReason(leaf *Leaf, ca *CA, hosts []string, now time.Time) string {
	switch {
	case leaf == nil:
		return "no certificate yet"
	case leaf.keyPEM == nil:
		return "the certificate does not match its key"
	case leaf.Cert.CheckSignatureFrom(ca.Cert) != nil:
		return "the certificate was not signed by the current CA"
	case !now.Before(leaf.Cert.NotAfter.Add(-RenewBefore)):
		return fmt.Sprintf("the certificate expires %s (renewed %d days ahead)", leaf.Cert.NotAfter.Format(time.DateOnly), int(RenewBefore.Hours()/24))
	}
	have := certHosts(leaf.Cert)
	want := slices.Sorted(slices.Values(hosts))
	if !slices.Equal(have, want) {
		return fmt.Sprintf("its hosts changed (%s → %s)", strings.Join(have, ","), strings.Join(want, ","))
	}
	return ""
}

// Current reports, changing nothing, whether CA and leaf exist and the leaf
// is fine for hosts; reason says what is missing when not.
func (s *Store) Current(hosts []string) (ca *CA, leaf *Leaf, reason string, err error) {
	ca, err = s.LoadCA()
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, "no CA yet", nil
	}
	if err != nil {
		return nil, nil, "", err
	}
	if !s.now().Before(ca.Cert.NotAfter.Add(-RenewBefore)) {
		return nil, nil, "the CA expires soon", nil
	}
	leaf, err = s.LoadLeaf()
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, nil, "", err
	}
	if errors.Is(err, os.ErrNotExist) {
		leaf = nil
	}
	if r := RenewReason(leaf, ca, hosts, s.now()); r != "" {
		return ca, nil, r, nil
	}
	return ca, leaf, "", nil
}

// Ensure returns the CA and a leaf for hosts, making or reissuing what is
// missing, expiring or outdated. renewed says why a new leaf was issued
// ("" when the one on disk was kept).
func (s *Store) Ensure(hosts []string) (ca *CA, leaf *Leaf, renewed string, err error) {
	ca, _, err = s.EnsureCA()
	if err != nil {
		return nil, nil, "", err
	}
	leaf, err = s.LoadLeaf()
	if errors.Is(err, os.ErrNotExist) {
		leaf, err = nil, nil
	}
	if err != nil {
		return nil, nil, "", err
	}
	renewed = RenewReason(leaf, ca, hosts, s.now())
	if renewed == "" {
		return ca, leaf, "", nil
	}
	leaf, err = s.issue(ca, hosts)
	if err != nil {
		return nil, nil, "", err
	}
	return ca, leaf, renewed, nil
}

func (s *Store) issue(ca *CA, hosts []string) (*Leaf, error) {
	if len(hosts) == 0 {
		return nil, errors.New("issue certificate: no hosts")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("make certificate key: %w", err)
	}
	serial, err := serialNumber()
	if err != nil {
		return nil, err
	}
	now := s.now()
	notAfter := now.Add(LeafValidity)
	if notAfter.After(ca.Cert.NotAfter) {
		notAfter = ca.Cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: firstDNS(hosts), Organization: []string{"PocketIDP"}},
		NotBefore:    now.Add(-backdate),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, fmt.Errorf("issue certificate: %w", err)
	}
	cert, _ := x509.ParseCertificate(der)
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := s.writePair(leafCertFile, certPEM, leafKeyFile, key); err != nil {
		return nil, fmt.Errorf("save certificate: %w", err)
	}
	keyPEM, err := encodeKey(key)
	if err != nil {
		return nil, err
	}
	return &Leaf{Cert: cert, CertPEM: certPEM, keyPEM: keyPEM}, nil
}

// Remove deletes the CA and the leaf (for `down`, after the CA left the
// trust store); files already gone are fine.
func (s *Store) Remove() error {
	var errs []error
	for _, f := range []string{leafKeyFile, leafCertFile, caKeyFile, caCertFile} {
		if err := os.Remove(s.path(f)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	// The folder goes too when it is empty; anything else in it stays.
	_ = os.Remove(s.Dir)
	return errors.Join(errs...)
}

func (s *Store) readPair(certName, keyName string) ([]byte, *ecdsa.PrivateKey, error) {
	certPEM, err := os.ReadFile(s.path(certName))
	if err != nil {
		return nil, nil, err
	}
	keyData, err := os.ReadFile(s.path(keyName))
	if err != nil {
		return nil, nil, err
	}
	block, _ := pem.Decode(keyData)
	if block == nil {
		return nil, nil, fmt.Errorf("%s holds no PEM key", s.path(keyName))
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", s.path(keyName), err)
	}
	key, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, nil, fmt.Errorf("%s is not an ECDSA key", s.path(keyName))
	}
	return certPEM, key, nil
}

// writePair writes the key (0600) before the certificate (0644), each
// atomically: a crash leaves the old pair, or a new key with an old
// certificate, which LoadLeaf and LoadCA detect.
func (s *Store) writePair(certName string, certPEM []byte, keyName string, key *ecdsa.PrivateKey) error {
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return err
	}
	keyPEM, err := encodeKey(key)
	if err != nil {
		return err
	}
	if err := renameio.WriteFile(s.path(keyName), keyPEM, 0o600); err != nil {
		return err
	}
	return renameio.WriteFile(s.path(certName), certPEM, 0o644)
}

func encodeKey(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

func parseCert(certPEM []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("no PEM certificate")
	}
	return x509.ParseCertificate(block.Bytes)
}

func publicKeyMatches(cert *x509.Certificate, key *ecdsa.PrivateKey) bool {
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	return ok && pub.Equal(&key.PublicKey)
}

func serialNumber() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("serial number: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil // never zero
}

func certHosts(c *x509.Certificate) []string {
	hosts := slices.Clone(c.DNSNames)
	for _, ip := range c.IPAddresses {
		hosts = append(hosts, ip.String())
	}
	slices.Sort(hosts)
	return hosts
}

func firstDNS(hosts []string) string {
	for _, h := range hosts {
		if net.ParseIP(h) == nil {
			return h
		}
	}
	return hosts[0]
}

// IsCertificateError reports whether err is a TLS client refusing the
// server's certificate (unknown authority, wrong name, failed
// verification): a cause that waiting does not remove.
func IsCertificateError(err error) bool {
	var (
		unknownAuthority x509.UnknownAuthorityError
		hostname         x509.HostnameError
		verify           *cryptotls.CertificateVerificationError
	)
	return errors.As(err, &unknownAuthority) || errors.As(err, &hostname) || errors.As(err, &verify)
}
