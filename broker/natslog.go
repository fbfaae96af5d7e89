package broker

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// natsLog writes the embedded NATS server's log through slog, so that its
// errors (a store that cannot write, JetStream disabling itself) reach
// the operator with Natter's own lines. A failing store can log a line per
// message, so lines beyond a rate are counted and the count is reported
// on the next line that gets through.
type natsLog struct {
	log     *slog.Logger
	lim     *rate.Limiter
	dropped atomic.Int64
	// onLine, if set, sees every error and warning, limited or not.
	onLine func(level slog.Level, line string)
}

// natsLogRate and natsLogBurst bound the embedded server's lines.
const (
	natsLogRate  = 20 // lines per second
	natsLogBurst = 100
)

func newNATSLog(log *slog.Logger, onLine func(slog.Level, string)) *natsLog {
	return &natsLog{log: log.With("component", "nats"), lim: rate.NewLimiter(natsLogRate, natsLogBurst), onLine: onLine}
}

func (l *natsLog) write(level slog.Level, format string, v []any) {
	line := strings.TrimSpace(fmt.Sprintf(format, v...))
	if line == "" {
		return
	}
	if l.onLine != nil && level >= slog.LevelWarn {
		l.onLine(level, line)
	}
	if !l.lim.AllowN(time.Now(), 1) {
		l.dropped.Add(1)
		return
	}
	if n := l.dropped.Swap(0); n > 0 {
		l.log.Log(context.Background(), level, line, "suppressed_before", n)
		return
	}
	l.log.Log(context.Background(), level, line)
}

// The server.Logger interface. Notices are routine (a start-up banner,
// JetStream starting and stopping; Natter logs its own lines for those),
// so they are debug; debug and trace are not switched on.
func (l *natsLog) Noticef(format string, v ...any) { l.write(slog.LevelDebug, format, v) }
func (l *natsLog) Warnf(format string, v ...any)   { l.write(slog.LevelWarn, format, v) }
func (l *natsLog) Errorf(format string, v ...any)  { l.write(slog.LevelError, format, v) }
func (l *natsLog) Fatalf(format string, v ...any)  { l.write(slog.LevelError, format, v) }
func (l *natsLog) Debugf(format string, v ...any)  { l.write(slog.LevelDebug, format, v) }
func (l *natsLog) Tracef(format string, v ...any)  { l.write(slog.LevelDebug-4, format, v) }
