package orchestrator

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
)

// dnsLabel is a Kubernetes name that is also a DNS label.
var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// maxLabel is a DNS label's length limit.
const maxLabel = 63

// namespaceName is the namespace the built-in namespace resource gives an
// environment: "<app>-<env>", as PocketIDP's own namespace definition
// makes it, shortened with a hash when too long.
func namespaceName(app, env string) string { return label(app + "-" + env) }

// label makes s a DNS label: lowercase, invalid characters as dashes, and
// at most 63 characters (the end replaced by a hash of the whole).
func label(s string) string {
	s = strings.Trim(regexp.MustCompile(`[^a-z0-9-]+`).ReplaceAllString(strings.ToLower(s), "-"), "-")
	if len(s) <= maxLabel {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	return strings.TrimRight(s[:maxLabel-9], "-") + "-" + hex.EncodeToString(sum[:])[:8]
}
