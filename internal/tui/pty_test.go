package tui

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/term"
	"github.com/creack/pty"

	"github.com/pocketidp/pocketidp/internal/bootstrap"
	"github.com/pocketidp/pocketidp/internal/output"
)

// helperEnv makes the test binary act as a tiny pocketidp: it selects the
// mode the way the CLI does and renders a scripted run in it. Re-executing
// the test binary avoids building a second program in the test.
const helperEnv = "POCKETIDP_TUI_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "1" {
		os.Exit(helperMain())
	}
	os.Exit(m.Run())
}

func helperMain() int {
	isTTY := term.IsTerminal(os.Stdin.Fd()) && term.IsTerminal(os.Stdout.Fd())
	mode := SelectMode(ModeInput{IsTTY: isTTY, Output: "text", Getenv: os.Getenv})
	fmt.Fprintf(os.Stderr, "mode=%s\n", mode)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	summary := &Summary{InstallID: "abcd", Port: 8443}
	run := func(_ context.Context, sink bootstrap.Sink) (*Summary, error) {
		for _, step := range []string{"state", "ca", "cluster"} {
			sink.Emit(bootstrap.Event{Time: time.Now(), Step: step, Kind: bootstrap.Started})
			sink.Emit(bootstrap.Event{Time: time.Now(), Step: step, Kind: bootstrap.Log, Level: "INFO", Message: "working on " + step})
			sink.Emit(bootstrap.Event{Time: time.Now(), Step: step, Kind: bootstrap.Done, Elapsed: time.Millisecond})
		}
		return summary, nil
	}
	var err error
	if mode == Interactive {
		err = RunProgress(ctx, ProgressInput{Title: "creating 5min-idp", Steps: []string{"state", "ca", "cluster"}, Run: run})
	} else {
		if _, err = run(ctx, &output.Text{W: os.Stdout}); err == nil {
			err = Print(os.Stdout, os.Environ(), RenderSummary(*summary, 80))
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// helperCmd runs the test binary as the helper, in an environment without
// CI or CODER (so a terminal really selects the TUI) and with a TERM that
// can show it.
func helperCmd(ctx context.Context) *exec.Cmd {
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "CI", "CODER", "TERM", "NO_COLOR", "ACCESSIBLE", helperEnv:
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	cmd.Env = append(cmd.Env, helperEnv+"=1", "TERM=xterm-256color")
	return cmd
}

// TestWithoutTerminalNoEscapesAndNoWaiting runs the helper with pipes: it
// must pick the plain renderer, write no escape code at all, and finish
// without reading its input (which stays open and silent, so a read would
// hang until the deadline).
func TestWithoutTerminalNoEscapesAndNoWaiting(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stdinR, stdinW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdinW.Close()
	defer stdinR.Close()

	cmd := helperCmd(ctx)
	var stdout, stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdinR, &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("helper: %v (after %s)\nstderr: %s", err, time.Since(start), stderr.String())
	}
	if ctx.Err() != nil {
		t.Fatal("the helper waited until the deadline: something read the silent input")
	}
	if !strings.Contains(stderr.String(), "mode=plain") {
		t.Errorf("mode without a terminal: %q, want plain", stderr.String())
	}
	for name, b := range map[string][]byte{"stdout": stdout.Bytes(), "stderr": stderr.Bytes()} {
		if i := bytes.IndexByte(b, 0x1b); i >= 0 {
			t.Errorf("%s has an escape code at byte %d: %q", name, i, b[max(i-20, 0):min(i+20, len(b))])
		}
	}
	for _, want := range []string{"cluster", "done", "PocketIDP is up", "https://git.localhost:8443"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("plain output lacks %q:\n%s", want, stdout.String())
		}
	}
}

// TestUnderTerminalRunsTheTUI runs the same helper under a pseudo-terminal:
// it must pick the Bubble Tea program, draw with escape codes, and end on
// the summary card by itself.
func TestUnderTerminalRunsTheTUI(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := helperCmd(ctx)
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 24, Cols: 80})
	if err != nil {
		t.Fatalf("start under a pty: %v", err)
	}
	defer ptmx.Close()
	var out bytes.Buffer
	copied := make(chan error, 1)
	go func() {
		_, err := io.Copy(&out, ptmx)
		copied <- err
	}()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper under a pty: %v\n%q", err, out.String())
	}
	select {
	case err := <-copied:
		// Linux reports EIO once the last slave fd is closed.
		var pe *os.PathError
		if err != nil && !errors.As(err, &pe) {
			t.Fatalf("read the pty: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the pty did not close after the helper exited")
	}
	text := out.String()
	if !strings.Contains(text, "mode=interactive") {
		t.Fatalf("mode under a terminal is not interactive:\n%q", text)
	}
	if !strings.Contains(text, "\x1b[") {
		t.Error("no escape codes under a terminal: the TUI did not draw")
	}
	for _, want := range []string{"PocketIDP is up", "git.localhost:8443"} {
		if !strings.Contains(text, want) {
			t.Errorf("TUI output lacks %q:\n%q", want, text)
		}
	}
}
