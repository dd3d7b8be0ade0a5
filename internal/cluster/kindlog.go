package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"

	kindlog "sigs.k8s.io/kind/pkg/log"
)

// kindPhases is how many status phases kind reports when it creates a
// one-node cluster: ensuring the image, preparing nodes, writing the
// configuration, starting the control plane, installing the CNI and the
// StorageClass.
const kindPhases = 6

// kindLogger turns kind's log calls into slog records, and kind's status
// lines (" • Preparing nodes 📦  ...") into progress reports.
type kindLogger struct {
	log      *slog.Logger
	progress func(current, total int, msg string)
	phase    *atomic.Int32
}

func newKindLogger(log *slog.Logger, progress func(int, int, string)) kindLogger {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return kindLogger{log: log, progress: progress, phase: new(atomic.Int32)}
}

var _ kindlog.Logger = kindLogger{}

func (l kindLogger) Warn(msg string)                          { l.log.Warn(clean(msg)) }
func (l kindLogger) Warnf(format string, args ...any)         { l.Warn(fmt.Sprintf(format, args...)) }
func (l kindLogger) Error(msg string)                         { l.log.Error(clean(msg)) }
func (l kindLogger) Errorf(format string, args ...any)        { l.Error(fmt.Sprintf(format, args...)) }
func (l kindLogger) V(level kindlog.Level) kindlog.InfoLogger { return kindInfo{l: l, level: level} }

type kindInfo struct {
	l     kindLogger
	level kindlog.Level
}

// Enabled keeps kind's trace levels (every command it runs, level 2 and
// up) out: level 1 is kind's debug detail.
func (i kindInfo) Enabled() bool { return i.level <= 1 }

func (i kindInfo) Infof(format string, args ...any) { i.Info(fmt.Sprintf(format, args...)) }

func (i kindInfo) Info(msg string) {
	if !i.Enabled() {
		return
	}
	msg = clean(msg)
	if msg == "" {
		return
	}
	if i.level > 0 {
		i.l.log.Debug(msg)
		return
	}
	if phase, ok := strings.CutPrefix(msg, "• "); ok {
		phase = strings.TrimSpace(strings.TrimSuffix(phase, "..."))
		n := int(i.l.phase.Add(1))
		if i.l.progress != nil {
			i.l.progress(n, kindPhases, phase)
		}
	}
	i.l.log.Log(context.Background(), slog.LevelInfo, msg)
}

// clean trims kind's terminal decoration (leading space, trailing newline).
func clean(s string) string { return strings.TrimSpace(s) }
