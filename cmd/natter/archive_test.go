package main

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// readyz returns /readyz's status and body.
func readyz(t *testing.T, ctx context.Context, s *server) (int, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.m.URL+"/readyz", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

var archiveLine = regexp.MustCompile(`^ready\narchive: position (\d+), lag 0, last audit \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ, repaired 0\n$`)

// A node that archives says in /readyz where its archive stands: its
// position (here at least the last acked message's sequence), lag and last
// audit.
func TestReadyzShowsArchive(t *testing.T) {
	s := startServer(t, "", func(m *Main) { m.Rate, m.Burst = 10000, 10000 })
	ctx := ctxFor(t, 30*time.Second)
	acked := sendHistory(t, ctx, s, s, "lobby", 5)
	waitFor(t, ctx, func() bool {
		code, body := readyz(t, ctx, s)
		m := archiveLine.FindStringSubmatch(body)
		if m == nil || code != 200 {
			return false
		}
		pos, _ := strconv.ParseUint(m[1], 10, 64)
		return pos >= acked[len(acked)-1]
	})
}
