package orchestrator

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	pidtls "github.com/pocketidp/pocketidp/internal/tls"
)

func testRoot(t *testing.T) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{SerialNumber: serial(), Subject: pkix.Name{CommonName: "test root"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(24 * time.Hour * 3650), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c, key
}

func verify(root *x509.Certificate, chainPEM []byte, host string) error {
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(root)
	var leaf *x509.Certificate
	for rest := chainPEM; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return err
		}
		if leaf == nil {
			leaf = c
		} else {
			inter.AddCert(c)
		}
	}
	_, err := leaf.Verify(x509.VerifyOptions{DNSName: host, Roots: roots, Intermediates: inter})
	return err
}

// A browser trusting the install's root accepts an app host's certificate
// from the intermediate, and nothing the intermediate signs outside
// localhost.
func TestIssuerSignsOnlyLocalhostHosts(t *testing.T) {
	root, rootKey := testRoot(t)
	certPEM, keyPEM, err := NewIntermediate(root, rootKey, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	iss, err := LoadIssuer(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	chain, _, err := iss.Issue("shop-abcd.localhost", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := verify(root, chain, "shop-abcd.localhost"); err != nil {
		t.Errorf("the app host's chain does not verify: %v", err)
	}
	if !stillGood(chain, "shop-abcd.localhost", time.Now()) || stillGood(chain, "other.localhost", time.Now()) ||
		stillGood(chain, "shop-abcd.localhost", time.Now().Add(leafValidity-leafRenewBefore/2)) {
		t.Error("stillGood does not tell a current certificate from another host's or an old one")
	}
	if _, _, err := iss.Issue("example.com", time.Now()); err == nil {
		t.Error("the issuer signed example.com")
	}
	// Even signed by hand, outside the constraint nothing verifies.
	tpl := &x509.Certificate{SerialNumber: serial(), DNSNames: []string{"bank.example"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.CreateCertificate(rand.Reader, tpl, iss.cert, &k.PublicKey, iss.key)
	if err != nil {
		t.Fatal(err)
	}
	bad := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), certPEM...)
	if err := verify(root, bad, "bank.example"); err == nil {
		t.Error("a certificate for bank.example from the intermediate verifies")
	}
	if _, err := LoadIssuer([]byte("x"), []byte("y")); err == nil {
		t.Error("LoadIssuer took garbage")
	}
}

// The issuer under the install's own CA, as `up` makes both: an app host's
// certificate verifies against that CA alone (a browser trusting it), and
// a CA that may sign no intermediate is refused with the fix.
func TestIssuerUnderTheInstallCA(t *testing.T) {
	store := &pidtls.Store{Dir: t.TempDir()}
	ca, _, err := store.EnsureCA()
	if err != nil {
		t.Fatal(err)
	}
	var certPEM, keyPEM []byte
	if err := ca.Lend(func(c *x509.Certificate, k crypto.Signer) (err error) {
		certPEM, keyPEM, err = NewIntermediate(c, k, time.Now())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	iss, err := LoadIssuer(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	chain, _, err := iss.Issue("shop-abcd.localhost", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := verify(ca.Cert, chain, "shop-abcd.localhost"); err != nil {
		t.Errorf("an app host's certificate under the install's CA: %v", err)
	}

	leafOnly := *ca.Cert
	leafOnly.MaxPathLen, leafOnly.MaxPathLenZero = 0, true
	_, _, err = NewIntermediate(&leafOnly, nil, time.Now())
	if err == nil || !strings.Contains(err.Error(), "pocketidp down") {
		t.Errorf("NewIntermediate under a leaf-only CA = %v, want a refusal with the fix", err)
	}
}
