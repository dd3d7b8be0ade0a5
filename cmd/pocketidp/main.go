// Command pocketidp brings a local Internal Developer Platform up and down.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"

	"github.com/pocketidp/pocketidp/internal/cli"
)

func main() {
	// The first Ctrl-C cancels the context: running steps stop, the state
	// is saved. A second one ends the program at once.
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	ctx, stop := cli.WithInterrupt(context.Background(), sig, os.Stderr, os.Exit)
	code := cli.Run(ctx, cli.OSEnv(term.IsTerminal(int(os.Stdin.Fd())), term.IsTerminal(int(os.Stdout.Fd()))))
	stop()
	os.Exit(code)
}
