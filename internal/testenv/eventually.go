package testenv

import (
	"testing"
	"time"
)

// Eventually calls f until it returns nil, failing the test with f's last
// error once timeout has passed. Real servers finish some work after they
// answer: Gitea, for one, processes a push in a background queue, so its API
// shows the new commit about a second after `git push` returns.
func Eventually(t testing.TB, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not true after %s: %v", timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
