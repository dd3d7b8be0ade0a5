package testenv

import "testing"

// The smoke tests share one API server and one Gitea; Main stops them.
func TestMain(m *testing.M) { Main(m) }
