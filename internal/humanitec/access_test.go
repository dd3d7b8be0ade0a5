package humanitec

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pocketidp/pocketidp/internal/config"
	"github.com/pocketidp/pocketidp/internal/secret"
)

// TestCheckAccessUnreachable: no answer is not a refusal. The wizard keeps
// the token on it and says Humanitec could not be reached.
func TestCheckAccessUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now: connection refused
	c, err := New(Config{BaseURL: "http://" + addr, Org: "acme", Token: secret.New("tok"),
		Retry: Retry{Attempts: 2, BaseDelay: time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	err = CheckAccess(context.Background(), c, Reporter{})
	if !IsUnreachable(err) || config.IsInput(err) {
		t.Fatalf("err = %v, want an UnreachableError that is not bad input", err)
	}
	if !strings.Contains(err.Error(), "could not be reached") {
		t.Errorf("message %q does not say Humanitec could not be reached", err)
	}
}
