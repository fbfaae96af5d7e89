package broker

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"golang.org/x/time/rate"
)

// The embedded server's lines reach slog at Natter's levels, and a flood
// of them is cut to the burst, with the number suppressed reported on the
// next line let through.
func TestNATSLogLevelsAndFlood(t *testing.T) {
	var buf bytes.Buffer
	var seen int
	l := newNATSLog(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})), func(slog.Level, string) { seen++ })
	l.Noticef("Server is ready")
	l.Warnf("slow consumer %d", 1)
	if out := buf.String(); strings.Contains(out, "Server is ready") || !strings.Contains(out, "level=WARN") || !strings.Contains(out, "slow consumer 1") || !strings.Contains(out, "component=nats") {
		t.Fatalf("log: %s", out)
	}
	buf.Reset()
	const flood = 10 * natsLogBurst
	for i := range flood {
		l.Errorf("write error %d", i)
	}
	if seen != flood+1 {
		t.Fatalf("onLine saw %d lines, want %d", seen, flood+1)
	}
	if n := strings.Count(buf.String(), "\n"); n > natsLogBurst+5 {
		t.Fatalf("%d of %d flooding lines written, want about %d", n, flood, natsLogBurst)
	}
	// Once the limiter has refilled (here: a fresh one), the next line
	// says how many were dropped.
	l.lim = rate.NewLimiter(natsLogRate, natsLogBurst)
	buf.Reset()
	l.Errorf("after the flood")
	if !strings.Contains(buf.String(), "suppressed_before=") {
		t.Fatalf("no count of suppressed lines: %s", buf.String())
	}
}
