package tui

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
)

// BenchmarkFirstFrame measures the time to the first frame: building the
// model, Init and the first View at 80x24 ("model"), and a whole Bubble Tea
// program from NewProgram until its renderer wrote the first frame
// ("program"; this includes the renderer's first frame tick).
func BenchmarkFirstFrame(b *testing.B) {
	size := tea.WindowSizeMsg{Width: 80, Height: 24}
	models := map[string]func() tea.Model{
		"progress": func() tea.Model {
			return newProgressModel(ProgressInput{Title: "creating 5min-idp", Steps: planSteps}, nil, true)
		},
		"wizard": func() tea.Model {
			return newWizardModel(context.Background(), testWizardInput(&fakeHumanitec{}), true)
		},
		"teardown": func() tea.Model { return newTeardownModel(testItems) },
	}
	for _, name := range []string{"progress", "wizard", "teardown"} {
		newModel := models[name]
		b.Run(name+"/model", func(b *testing.B) {
			for b.Loop() {
				m := newModel()
				_ = m.Init()
				m, _ = m.Update(size)
				if m.View().Content == "" {
					b.Fatal("empty first frame")
				}
			}
		})
	}
	b.Run("progress/program", func(b *testing.B) {
		for b.Loop() {
			w := &firstWrite{done: make(chan struct{})}
			p := tea.NewProgram(models["progress"](),
				tea.WithInput(nil), tea.WithOutput(w), tea.WithWindowSize(80, 24),
				tea.WithoutSignalHandler(), tea.WithColorProfile(colorprofile.ANSI256))
			finished := make(chan struct{})
			go func() {
				_, _ = p.Run()
				close(finished)
			}()
			select {
			case <-w.done:
			case <-time.After(5 * time.Second):
				b.Fatal("no frame within 5s")
			}
			b.StopTimer()
			p.Quit()
			<-finished
			b.StartTimer()
		}
	})
}

// firstWrite signals when the first frame (a write holding the title) came.
type firstWrite struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	done chan struct{}
	once sync.Once
}

func (w *firstWrite) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if bytes.Contains(w.buf.Bytes(), []byte("creating 5min-idp")) {
		w.once.Do(func() { close(w.done) })
	}
	return len(p), nil
}
