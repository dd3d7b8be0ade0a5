package orchestrator

import (
	"testing"

	"github.com/pocketidp/pocketidp/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }
