package orchestrator

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// Certificates for app hosts are issued in the cluster by an intermediate
// CA that `up` makes from the install's root (whose key never enters the
// cluster). Its name constraints let it sign only localhost and names under
// it, so its key, were it to leak from the cluster, could not impersonate
// any other site to a browser that trusts the root.
const (
	// IssuerDomain is the only domain the intermediate may sign for.
	IssuerDomain = "localhost"
	// intermediateValidity is the intermediate's lifetime; `up` renews it.
	intermediateValidity = 2 * 365 * 24 * time.Hour
	// leafValidity stays under the 398 days browsers accept.
	leafValidity = 397 * 24 * time.Hour
	// leafRenewBefore reissues a host's certificate that close to its end.
	leafRenewBefore = 30 * 24 * time.Hour
	// clockSkew back-dates certificates for clocks that lag.
	clockSkew = time.Hour
)

// NewIntermediate makes the intermediate CA, signed by the install's root,
// constrained to IssuerDomain. It returns the certificate and key, PEM.
func NewIntermediate(root *x509.Certificate, rootKey crypto.Signer, now time.Time) (certPEM, keyPEM []byte, err error) {
	if root.MaxPathLenZero || (root.BasicConstraintsValid && root.MaxPathLen == 0) {
		// An install made by a PocketIDP before the local orchestrator: its
		// CA signs leaves only, so browsers would refuse every app host.
		return nil, nil, fmt.Errorf("the install's CA (%s) may sign no intermediate CA, which the local orchestrator's issuer is: it was made by an older PocketIDP; run `pocketidp down`, then `pocketidp up` for a new CA", root.Subject.CommonName)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("make the intermediate CA's key: %w", err)
	}
	tpl := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: "PocketIDP local orchestrator issuer (" + IssuerDomain + " only)", Organization: []string{"PocketIDP"}},
		NotBefore: now.Add(-clockSkew), NotAfter: now.Add(intermediateValidity),
		IsCA: true, BasicConstraintsValid: true, MaxPathLenZero: true,
		KeyUsage:                    x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		PermittedDNSDomainsCritical: true, PermittedDNSDomains: []string{IssuerDomain},
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, root, &key.PublicKey, rootKey)
	if err != nil {
		return nil, nil, fmt.Errorf("sign the intermediate CA with the install's CA: %w", err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic("orchestrator: no randomness: " + err.Error())
	}
	return n
}

// Issuer signs app hosts' certificates with the intermediate CA.
type Issuer struct {
	cert    *x509.Certificate
	certPEM []byte
	key     crypto.Signer
}

// LoadIssuer reads the intermediate CA (certificate and PKCS#8 key, PEM).
func LoadIssuer(certPEM, keyPEM []byte) (*Issuer, error) {
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		return nil, errors.New("the issuer's certificate or key is not PEM: run `pocketidp up` to make them again")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("the issuer's certificate: %w", err)
	}
	k, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("the issuer's key: %w", err)
	}
	signer, ok := k.(crypto.Signer)
	if !ok || !cert.IsCA {
		return nil, errors.New("the issuer is not a CA with a signing key: run `pocketidp up` to make it again")
	}
	return &Issuer{cert: cert, certPEM: certPEM, key: signer}, nil
}

// Issue makes a certificate for host; certPEM holds the chain (the leaf,
// then the intermediate), as an ingress serves it.
func (i *Issuer) Issue(host string, now time.Time) (certPEM, keyPEM []byte, err error) {
	if !underDomain(host) {
		return nil, nil, fmt.Errorf("host %q is not under %s: the orchestrator's issuer signs only those", host, IssuerDomain)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tpl := &x509.Certificate{SerialNumber: serial(), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: now.Add(-clockSkew), NotAfter: now.Add(leafValidity),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tpl, i.cert, &key.PublicKey, i.key)
	if err != nil {
		return nil, nil, fmt.Errorf("issue a certificate for %s: %w", host, err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	chain := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), i.certPEM...)
	return chain, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), nil
}

// stillGood reports whether a certificate issued earlier (PEM chain) names
// host and has more than leafRenewBefore left.
func stillGood(certPEM []byte, host string, now time.Time) bool {
	b, _ := pem.Decode(certPEM)
	if b == nil {
		return false
	}
	c, err := x509.ParseCertificate(b.Bytes)
	return err == nil && c.VerifyHostname(host) == nil && now.Add(leafRenewBefore).Before(c.NotAfter)
}

func underDomain(host string) bool {
	return host == IssuerDomain || len(host) > len(IssuerDomain)+1 && host[len(host)-len(IssuerDomain)-1:] == "."+IssuerDomain
}
