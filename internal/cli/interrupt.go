package cli

import (
	"context"
	"fmt"
	"io"
	"os"
)

// WithInterrupt returns a context that the first signal on sig cancels:
// running steps stop and the state is saved. A second signal does not wait
// for them: exit(ExitInterrupted) ends the program at once, saying what
// that means. cancel stops listening.
func WithInterrupt(parent context.Context, sig <-chan os.Signal, stderr io.Writer, exit func(int)) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	stop := make(chan struct{})
	go func() {
		select {
		case <-sig:
			cancel()
		case <-stop:
			return
		}
		select {
		case <-sig:
			fmt.Fprintln(stderr, "\npocketidp: stopped at once; steps that were running may be half done: run the same command again to pick up")
			exit(ExitInterrupted)
		case <-stop:
		}
	}()
	var once bool
	return ctx, func() {
		if !once {
			once = true
			close(stop)
		}
		cancel()
	}
}
