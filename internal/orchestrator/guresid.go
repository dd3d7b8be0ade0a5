package orchestrator

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// guresid is a resource's globally unique id: stable for the same app,
// env, type, class and res id. It names objects in the cluster, so it is
// short, lowercase hex, and starts with a letter.
func guresid(ctx Context, typ, class, resID string) string {
	sum := sha256.Sum256([]byte(strings.Join([]string{ctx.App, ctx.Env, typ, class, resID}, "\x00")))
	return "r" + hex.EncodeToString(sum[:])[:19]
}
