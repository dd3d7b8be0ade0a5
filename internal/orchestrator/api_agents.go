package orchestrator

import (
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"maps"
	"net/http"
	"slices"
)

// Agents are stored, not used: the local orchestrator deploys into its own
// cluster. They are served so that PocketIDP's registration (which
// registers an agent for Humanitec) runs against it unchanged.

// minAgentKeyBits is the smallest RSA key the API takes for an agent.
const minAgentKeyBits = 4096

// Agent is a registered agent with its public keys.
type Agent struct {
	ID          string      `json:"id"`
	Description string      `json:"description"`
	CreatedAt   string      `json:"created_at"`
	CreatedBy   string      `json:"created_by"`
	Keys        []*AgentKey `json:"keys"`
}

// AgentKey is one public key of an agent.
type AgentKey struct {
	Fingerprint string `json:"fingerprint"`
	PublicKey   string `json:"public_key"`
	CreatedAt   string `json:"created_at"`
	CreatedBy   string `json:"created_by"`
	ExpiredAt   string `json:"expired_at"`
	Authorized  bool   `json:"is_authorized"`
}

func (a *Agent) json() map[string]any {
	return map[string]any{"id": a.ID, "description": a.Description, "created_at": a.CreatedAt, "created_by": a.CreatedBy}
}

// fingerprint checks a public key as the API does (PKIX PEM, RSA, at
// least 4096 bits) and returns its fingerprint: hex SHA-256 of the DER.
func fingerprint(pemText string) (string, error) {
	b, _ := pem.Decode([]byte(pemText))
	if b == nil || b.Type != "PUBLIC KEY" {
		return "", fmt.Errorf("public_key is not a PEM encoded PUBLIC KEY")
	}
	k, err := x509.ParsePKIXPublicKey(b.Bytes)
	if err != nil {
		return "", fmt.Errorf("public_key: %v", err)
	}
	rk, ok := k.(*rsa.PublicKey)
	if !ok {
		return "", fmt.Errorf("public_key is not an RSA key")
	}
	if rk.N.BitLen() < minAgentKeyBits {
		return "", fmt.Errorf("public_key has %d bits; at least %d are required", rk.N.BitLen(), minAgentKeyBits)
	}
	sum := sha256.Sum256(b.Bytes)
	return hex.EncodeToString(sum[:]), nil
}

func (rq *request) newKey(pub string) (*AgentKey, error) {
	fp, err := fingerprint(pub)
	if err != nil {
		return nil, err
	}
	now := rq.s.cfg.Now()
	return &AgentKey{Fingerprint: fp, PublicKey: pub, CreatedAt: stamp(now), CreatedBy: UserID,
		ExpiredAt: stamp(now.AddDate(2, 0, 0)), Authorized: true}, nil
}

func (rq *request) agent() (*Agent, int, any) {
	a := rq.st.Agents[rq.param("agentId")]
	if a == nil {
		st, out := notFound("Agent " + rq.param("agentId"))
		return nil, st, out
	}
	return a, 0, nil
}

func opListAgents(rq *request) (int, any) {
	fp := rq.query("fingerprint")
	out := []map[string]any{}
	for _, id := range slices.Sorted(maps.Keys(rq.st.Agents)) {
		a := rq.st.Agents[id]
		if fp != "" && !slices.ContainsFunc(a.Keys, func(k *AgentKey) bool { return k.Fingerprint == fp }) {
			continue
		}
		out = append(out, a.json())
	}
	return http.StatusOK, out
}

func opCreateAgent(rq *request) (int, any) {
	var in struct {
		ID          string `json:"id"`
		PublicKey   string `json:"public_key"`
		Description string `json:"description"`
	}
	if err := rq.decode(&in); err != nil {
		return badRequest(err.Error())
	}
	if rq.st.Agents[in.ID] != nil {
		return conflict(fmt.Sprintf("Agent %s already exists.", in.ID))
	}
	k, err := rq.newKey(in.PublicKey)
	if err != nil {
		return badRequest(err.Error())
	}
	a := &Agent{ID: in.ID, Description: in.Description, CreatedAt: rq.now(), CreatedBy: UserID, Keys: []*AgentKey{k}}
	rq.st.Agents[in.ID] = a
	return http.StatusOK, a.json()
}

func opPatchAgent(rq *request) (int, any) {
	a, st, out := rq.agent()
	if a == nil {
		return st, out
	}
	var in struct {
		Description string `json:"description"`
	}
	if err := rq.decode(&in); err != nil {
		return badRequest(err.Error())
	}
	a.Description = in.Description
	return http.StatusOK, a.json()
}

func opDeleteAgent(rq *request) (int, any) {
	a, st, out := rq.agent()
	if a == nil {
		return st, out
	}
	delete(rq.st.Agents, a.ID)
	return http.StatusNoContent, nil
}

func opListKeys(rq *request) (int, any) {
	a, st, out := rq.agent()
	if a == nil {
		return st, out
	}
	return http.StatusOK, append([]*AgentKey{}, a.Keys...)
}

func opCreateKey(rq *request) (int, any) {
	a, st, out := rq.agent()
	if a == nil {
		return st, out
	}
	var in struct {
		PublicKey string `json:"public_key"`
	}
	if err := rq.decode(&in); err != nil {
		return badRequest(err.Error())
	}
	k, err := rq.newKey(in.PublicKey)
	if err != nil {
		return badRequest(err.Error())
	}
	if slices.ContainsFunc(a.Keys, func(o *AgentKey) bool { return o.Fingerprint == k.Fingerprint }) {
		return conflict("Key " + k.Fingerprint + " is already registered.")
	}
	a.Keys = append(a.Keys, k)
	return http.StatusOK, k
}

func opDeleteKey(rq *request) (int, any) {
	a, st, out := rq.agent()
	if a == nil {
		return st, out
	}
	i := slices.IndexFunc(a.Keys, func(k *AgentKey) bool { return k.Fingerprint == rq.param("fingerprint") })
	if i < 0 {
		return notFound("Key " + rq.param("fingerprint"))
	}
	a.Keys = slices.Delete(a.Keys, i, i+1)
	return http.StatusNoContent, nil
}
