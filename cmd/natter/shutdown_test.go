package main

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// Shutdown ends even when clients do not answer the close frame (they have
// stopped reading), and while others are still joining.
func TestShutdownWithUnresponsiveClients(t *testing.T) {
	s := startServer(t, "")
	ctx := ctxFor(t, 30*time.Second)
	var clients []*tclient
	for i := 0; i < 20; i++ {
		c := s.connect(ctx, fmt.Sprintf("u%d", i))
		c.join(ctx, "r", -1, "")
		if i%2 == 0 {
			c.Pause()
		}
		clients = append(clients, c)
	}
	unauthed := s.dialRaw(ctx) // connected, never authenticates
	_ = unauthed
	done := make(chan error, 1)
	go func() {
		cctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		done <- s.m.Close(cctx)
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Logf("close: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("server did not shut down")
	}
	for _, c := range clients[1:2] {
		if cl, err := c.Wait(ctx); err != nil || cl.Code != 1001 {
			t.Errorf("responsive client closed with %+v %v, want 1001", cl, err)
		}
	}
}

// Clients that vanish without a close frame, while the server is writing
// to them, are torn down: the connection count returns to zero and the
// room keeps working for the others.
func TestVanishedClientsAreTornDown(t *testing.T) {
	s := startServer(t, "", func(m *Main) { m.Rate, m.Burst = 10000, 10000 })
	ctx := ctxFor(t, 30*time.Second)
	sender := s.connect(ctx, "sender")
	sender.join(ctx, "r", -1, "")
	var gone []*tclient
	for i := 0; i < 100; i++ {
		c := s.connect(ctx, fmt.Sprintf("v%d", i))
		c.join(ctx, "r", -1, "")
		gone = append(gone, c)
	}
	stop := make(chan struct{})
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := sender.SendText(ctx, "r", cid("x", i), strings.Repeat("are you there? ", 500)); err != nil {
				return
			}
		}
	}()
	for _, c := range gone {
		c.Pause() // not reading: the server's writes to it back up
	}
	time.Sleep(200 * time.Millisecond) // let the backlog build (no assertion on time)
	for _, c := range gone {
		if tc, ok := c.Conn().(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // reset, not FIN: the server's writes fail
		}
		c.Conn().Close()
	}
	waitFor(t, ctx, func() bool { return metricValue(t, s, "natter_connections") == 1 })
	close(stop)
	<-sent
	// A WebSocket ping alone is answered and the connection stays usable.
	if err := sender.WriteFrame(0x9, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	sender.request(ctx, map[string]any{"op": "ping"})
}
