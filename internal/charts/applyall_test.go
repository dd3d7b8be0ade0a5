package charts

import (
	"context"
	"errors"
	"sync"
)

// applyAll applies independent releases at the same time, as the engine
// runs independent chart steps, and returns their results in the order
// given; the error joins every release's failure.
func applyAll(ctx context.Context, i *Installer, rels []Release) ([]Result, error) {
	results := make([]Result, len(rels))
	errs := make([]error, len(rels))
	var wg sync.WaitGroup
	for n, rel := range rels {
		wg.Go(func() {
			results[n], errs[n] = i.Apply(ctx, rel, nil)
		})
	}
	wg.Wait()
	return results, errors.Join(errs...)
}
