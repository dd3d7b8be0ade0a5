package humanitec

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/google/renameio/v2"

	"github.com/pocketidp/pocketidp/internal/secret"
)

// AgentKeyFile is the name of the agent's private key in the state dir.
const AgentKeyFile = "humanitec-agent.key"

// AgentKeyBits is the key size; the API refuses agent keys under 4096 bits.
const AgentKeyBits = 4096

// The Humanitec agent chart the private key goes to.
const (
	AgentChartRepo      = "oci://ghcr.io/humanitec/charts"
	AgentChartName      = "humanitec-agent"
	AgentChartNamespace = "humanitec-agent"
	AgentReleaseName    = "humanitec-agent"
)

// AgentKey is the agent's key pair. The private half never leaves the
// machine except into the agent chart's values.
type AgentKey struct {
	// PrivatePEM is the RSA private key, PKCS#1 PEM ("RSA PRIVATE KEY"),
	// the form the agent chart's humanitec.privateKey takes.
	PrivatePEM secret.Value
	// PublicPEM is the public key, PKIX PEM ("PUBLIC KEY"), as the API
	// wants it.
	PublicPEM string
	// Fingerprint is how the API names the key: hex SHA-256 of the
	// public key's DER.
	Fingerprint string
}

// keyMu keeps two steps of one run from making two keys.
var keyMu sync.Mutex

// EnsureAgentKey loads the key pair at path, or makes one (RSA-4096) and
// writes it there with mode 0600. A re-run reuses the key, so the agent
// registered earlier keeps working.
func EnsureAgentKey(path string) (AgentKey, bool, error) {
	keyMu.Lock()
	defer keyMu.Unlock()
	k, err := LoadAgentKey(path)
	if err == nil {
		return k, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return AgentKey{}, false, err
	}
	priv, err := rsa.GenerateKey(rand.Reader, AgentKeyBits)
	if err != nil {
		return AgentKey{}, false, fmt.Errorf("make the agent key: %w", err)
	}
	if err := WriteAgentKey(path, priv); err != nil {
		return AgentKey{}, false, err
	}
	k, err = LoadAgentKey(path)
	return k, err == nil, err
}

// LoadAgentKey reads the key pair at path; a missing file wraps
// os.ErrNotExist.
func LoadAgentKey(path string) (AgentKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return AgentKey{}, fmt.Errorf("read the agent key: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "RSA PRIVATE KEY" {
		return AgentKey{}, fmt.Errorf("agent key %s is not an RSA PRIVATE KEY PEM (remove it and run again to make a new one)", path)
	}
	priv, err := x509.ParsePKCS1PrivateKey(blk.Bytes)
	if err != nil {
		return AgentKey{}, fmt.Errorf("agent key %s: %w (remove it and run again to make a new one)", path, err)
	}
	if priv.N.BitLen() < AgentKeyBits {
		return AgentKey{}, fmt.Errorf("agent key %s has %d bits, Humanitec needs %d (remove it and run again)", path, priv.N.BitLen(), AgentKeyBits)
	}
	return agentKeyOf(priv, path)
}

// agentKeyOf derives the public half and its fingerprint.
func agentKeyOf(priv *rsa.PrivateKey, path string) (AgentKey, error) {
	der, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		return AgentKey{}, fmt.Errorf("agent key %s: %w", path, err)
	}
	sum := sha256.Sum256(der)
	return AgentKey{
		PrivatePEM:  secret.New(string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(priv)}))),
		PublicPEM:   string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})),
		Fingerprint: hex.EncodeToString(sum[:]),
	}, nil
}

// WriteAgentKey writes priv to path (PKCS#1 PEM, mode 0600), atomically: a
// crash leaves the old file or the new one.
func WriteAgentKey(path string, priv *rsa.PrivateKey) error {
	data := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(priv)})
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("write the agent key: %w", err)
	}
	if err := renameio.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("write the agent key: %w", err)
	}
	return nil
}

// RemoveAgentKey deletes the key file; a missing file is fine.
func RemoveAgentKey(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove the agent key: %w", err)
	}
	return nil
}

// AgentChartValues are the values of the humanitec-agent chart: the org and
// the private key the agent signs its requests with. The map holds the key
// itself: give it to Helm, never to a log.
func AgentChartValues(org string, k AgentKey) map[string]any {
	return map[string]any{
		"humanitec": map[string]any{
			"org":        org,
			"privateKey": k.PrivatePEM.Reveal() + "\n",
		},
	}
}
