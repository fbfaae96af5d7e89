package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// examples/bot, built and run as its users run it, against a real server:
// it echoes, reacts to a mention, and posts a notification.
func TestSDKExampleBot(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the example")
	}
	bin := filepath.Join(t.TempDir(), "bot")
	if out, err := exec.Command("go", "build", "-o", bin, "../../examples/bot").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	s := startServer(t, "", fastRecords)
	ctx := ctxFor(t, 60*time.Second)
	bob := s.connectV2(ctx, "bob")
	bob.join(ctx, "lobby", -1, "")

	botCtx, stop := context.WithCancel(ctx)
	defer stop()
	bot := exec.CommandContext(botCtx, bin, "-server", s.m.URL, "-token", s.token("echobot"), "-rooms", "lobby")
	if err := bot.Start(); err != nil {
		t.Fatal(err)
	}
	defer bot.Wait()
	for { // the bot is in the room once its presence arrives
		ev, err := bob.Expect(ctx, "presence")
		if err != nil {
			t.Fatal(err)
		}
		if ev.User == "echobot" && ev.Status == "online" {
			break
		}
	}
	echo := bob.send(ctx, "lobby", "b1", "!echo hi there")
	hey := bob.send(ctx, "lobby", "b2", "hey @echobot")
	var gotEcho, gotWave bool
	for !gotEcho || !gotWave {
		ev, err := bob.Expect(ctx, "msg")
		if err != nil {
			t.Fatalf("echo %v wave %v: %v", gotEcho, gotWave, err)
		}
		switch {
		case ev.From != "echobot":
		case ev.Kind == "" && ev.Text == "hi there" && ev.ReplyTo == echo.Seq:
			gotEcho = true
		case ev.Kind == "react" && ev.Target == hey.Seq && ev.Emoji == "👋":
			gotWave = true
		default:
			t.Fatalf("unexpected from the bot: %+v", ev)
		}
	}
	stop()

	out, err := exec.CommandContext(ctx, bin, "-server", s.m.URL, "-token", s.token("echobot"), "-rooms", "lobby", "-notify", "deploy done").CombinedOutput()
	if err != nil {
		t.Fatalf("notify: %v\n%s", err, out)
	}
	for {
		ev, err := bob.Expect(ctx, "msg")
		if err != nil {
			t.Fatal(err)
		}
		if ev.From == "echobot" && ev.Text == "deploy done" {
			return
		}
	}
}
