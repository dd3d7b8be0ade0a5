package doctor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/pocketidp/pocketidp/internal/cluster"
	"github.com/pocketidp/pocketidp/internal/config"
)

// clusterCheckTimeout bounds the existing cluster's answer: the API
// server's version is one small read.
const clusterCheckTimeout = 20 * time.Second

// CheckCluster reads the kubeconfig and asks the existing cluster for its
// version, the same way the run reaches it: a wrong --kubeconfig or
// --context stops `up` before anything, the state included, is written.
func CheckCluster(ctx context.Context, _ Host, o config.Options) Result {
	ctx, cancel := context.WithTimeout(ctx, clusterCheckTimeout)
	defer cancel()
	acc, err := cluster.Existing(ctx, o.Kubeconfig, o.Context)
	if err != nil {
		var ie *config.InputError
		if errors.As(err, &ie) {
			return Result{Check: "cluster", Status: Fail, Found: ie.Msg, Fix: ie.Hint}
		}
		return Result{Check: "cluster", Status: Fail, Found: err.Error(),
			Fix: "check that the cluster runs and `kubectl get nodes` works with the same kubeconfig and context"}
	}
	where := acc.KubeconfigPath
	if where == "" {
		where = "the default kubeconfig"
	}
	return Result{Check: "cluster", Status: OK, Found: fmt.Sprintf("context %s in %s answers", acc.Context, where)}
}

// CheckStateDir makes sure the install's state can be written: the state
// dir, or the nearest folder above it that exists, takes a new file.
func CheckStateDir(_ context.Context, _ Host, o config.Options) Result {
	if o.StateDir == "" {
		return Result{Check: "state", Status: OK, Found: "no state dir given: the user config dir is used"}
	}
	dir := o.StateDir
	for {
		fi, err := os.Stat(dir)
		if err == nil && !fi.IsDir() {
			return Result{Check: "state", Status: Fail, Found: fmt.Sprintf("state dir %s: %s is a file, not a folder", o.StateDir, dir),
				Fix: "pass --state-dir with a folder"}
		}
		if err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	f, err := os.CreateTemp(dir, ".pocketidp-check-*")
	if err != nil {
		return Result{Check: "state", Status: Fail, Found: fmt.Sprintf("state dir %s cannot be written: %v", o.StateDir, errors.Unwrap(err)),
			Fix: "make " + dir + " writable for this user, or pass --state-dir with a folder that is"}
	}
	f.Close()
	os.Remove(f.Name())
	return Result{Check: "state", Status: OK, Found: "the state dir is writable (see --state-dir)"}
}
