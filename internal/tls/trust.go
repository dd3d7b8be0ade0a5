package tls

import (
	"crypto/x509"
	"fmt"

	"github.com/smallstep/truststore"
)

// Truster is the OS trust store, faked in tests.
type Truster interface {
	// Trusted reports whether the system already trusts ca.
	Trusted(ca *x509.Certificate) bool
	Install(ca *x509.Certificate) error
	Uninstall(ca *x509.Certificate) error
}

// SystemTrust is the OS trust store (and Firefox's, when its tools are
// there) through smallstep/truststore. On Linux it runs sudo, which may ask
// for a password on the terminal.
type SystemTrust struct{}

func (SystemTrust) opts() []truststore.Option {
	// Firefox keeps its own store; truststore skips it when certutil is
	// missing.
	return []truststore.Option{truststore.WithFirefox(), truststore.WithPrefix("pocketidp-")}
}

// Trusted verifies the CA against the system roots: a root verifies
// exactly when it is one of them.
func (SystemTrust) Trusted(ca *x509.Certificate) bool {
	_, err := ca.Verify(x509.VerifyOptions{})
	return err == nil
}

// Install adds the CA to the trust stores.
func (t SystemTrust) Install(ca *x509.Certificate) error {
	if err := truststore.Install(ca, t.opts()...); err != nil {
		return fmt.Errorf("install the CA into the system trust store: %w", err)
	}
	return nil
}

// Uninstall removes the CA from the trust stores.
func (t SystemTrust) Uninstall(ca *x509.Certificate) error {
	if err := truststore.Uninstall(ca, t.opts()...); err != nil {
		return fmt.Errorf("remove the CA from the system trust store: %w", err)
	}
	return nil
}
