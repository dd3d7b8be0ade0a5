package orchestrator

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"time"
)

// selfSignedValidity is how long the in-cluster certificate lasts; it is
// made anew on every start.
const selfSignedValidity = 365 * 24 * time.Hour

// SelfSignedTLS is a TLS configuration with a certificate made at start for
// hosts and signed by itself. It serves api.humanitec.io to the pods the
// orchestrator deploys: they are told to accept any certificate
// (Backstage's score file sets NODE_TLS_REJECT_UNAUTHORIZED=0), and no CA
// a browser trusts ever signs that name.
func SelfSignedTLS(hosts ...string) (*tls.Config, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("make the orchestrator's TLS key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: hosts[0], Organization: []string{"PocketIDP local orchestrator"}},
		DNSNames: hosts, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(selfSignedValidity),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("make the orchestrator's TLS certificate: %w", err)
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, nil
}
