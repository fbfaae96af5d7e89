package main

import (
	"bufio"
	"io"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/natter-chat/natter"
	"github.com/natter-chat/natter/auth"
	"github.com/natter-chat/natter/edge"
	"github.com/natter-chat/natter/edge/wsclient"
)

// The real binary: SIGTERM closes WebSockets with 1001 and exits 0; a new
// process on the same data dir has every acked message.
func TestSIGTERMGracefulShutdown(t *testing.T) {
	bin := buildNatter(t)
	data := t.TempDir()
	ctx := ctxFor(t, 60*time.Second)

	start := func() (*exec.Cmd, string) {
		cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--data", data)
		stderr, _ := cmd.StderrPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		url := make(chan string, 1)
		go func() {
			re := regexp.MustCompile(`ws=(ws://\S+)`)
			sc := bufio.NewScanner(stderr)
			for sc.Scan() {
				if m := re.FindStringSubmatch(sc.Text()); m != nil {
					url <- m[1]
				}
			}
			io.Copy(io.Discard, stderr)
		}()
		select {
		case u := <-url:
			return cmd, u
		case <-ctx.Done():
			t.Fatal("server did not log its URL")
		}
		return nil, ""
	}
	token := func(user natter.UserID) string {
		secret, err := signingSecret("", data, auth.LoadSecret)
		if err != nil {
			t.Fatal(err)
		}
		keys, _ := auth.New(auth.Config{Secret: secret})
		tok, _ := keys.Issue(user, time.Hour)
		return tok
	}

	cmd, url := start()
	c, err := wsclient.Dial(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Auth(ctx, token("u1")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Join(ctx, "r", -1, ""); err != nil {
		t.Fatal(err)
	}
	var acked []uint64
	for i := 0; i < 20; i++ {
		ack, err := c.SendText(ctx, "r", cid("m", i), "before SIGTERM")
		if err != nil {
			t.Fatal(err)
		}
		acked = append(acked, ack.Seq)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if cl, err := c.Wait(ctx); err != nil || cl.Code != int(edge.CloseGoingAway) {
		t.Fatalf("client closed with %+v %v, want 1001", cl, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("natter exited with %v after SIGTERM", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("natter did not exit after SIGTERM")
	}

	_, url = start()
	c2, err := wsclient.Dial(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if _, err := c2.Auth(ctx, token("u1")); err != nil {
		t.Fatal(err)
	}
	if _, err := c2.Join(ctx, "r", 0, ""); err != nil {
		t.Fatal(err)
	}
	got, err := c2.Messages(ctx, "r", len(acked))
	if err != nil {
		t.Fatalf("after restart: %v", err)
	}
	for i, ev := range got {
		if ev.Seq != acked[i] || !strings.Contains(ev.Text, "SIGTERM") {
			t.Fatalf("message %d after restart: %+v, want seq %d", i, ev, acked[i])
		}
	}
}
