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
	// Ctrl-C cancels the context: running steps stop, the state is saved.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, cli.OSEnv(term.IsTerminal(int(os.Stdout.Fd()))))
	stop()
	os.Exit(code)
}
