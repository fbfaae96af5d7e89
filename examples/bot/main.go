// Command bot is a small Natter bot built on the Go SDK
// (github.com/natter-chat/natter/client, docs/CLIENT-GO.md). It joins rooms
// and, in each:
//
//   - answers "!echo <text>" with <text>, as a reply to the message;
//   - reacts 👋 to every message that mentions it;
//   - with -notify, posts that text once in every room and exits (a
//     notification from cron or CI).
//
// It logs in with a built-in account (-user, password in $NATTER_PASSWORD),
// refreshing its token before it expires, or uses -token as given. It
// resumes every room after a disconnect, so it answers every message once.
//
//	natter serve &
//	curl -s localhost:8080/api/auth/register -d '{"username":"echobot","password":"long enough pw"}'
//	NATTER_PASSWORD='long enough pw' go run ./examples/bot -user echobot -rooms lobby
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/natter-chat/natter/client"
)

func main() {
	server := flag.String("server", "http://127.0.0.1:8080", "the Natter server's HTTP base URL")
	user := flag.String("user", "", "the bot's account (password in $NATTER_PASSWORD)")
	token := flag.String("token", "", "a token to use instead of logging in (natter token <user>)")
	rooms := flag.String("rooms", "lobby", "comma-separated rooms to join")
	notify := flag.String("notify", "", "post this text in every room and exit")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))

	var tokens client.TokenSource
	switch {
	case *token != "":
		tokens = client.StaticToken(*token)
	case *user != "":
		tokens = (&accountLogin{base: *server, user: *user, password: os.Getenv("NATTER_PASSWORD")}).token
	default:
		fmt.Fprintln(os.Stderr, "bot: give -user (and $NATTER_PASSWORD) or -token")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, log, wsURL(*server), tokens, strings.Split(*rooms, ","), *notify); err != nil {
		log.Error("bot", "err", err)
		os.Exit(1)
	}
}

// wsURL is the WebSocket endpoint of a server's HTTP base URL.
func wsURL(base string) string {
	return strings.Replace(strings.TrimSuffix(base, "/"), "http", "ws", 1) + "/ws"
}

func run(ctx context.Context, log *slog.Logger, url string, tokens client.TokenSource, rooms []string, notify string) error {
	c, err := client.Dial(ctx, client.Config{URL: url, Token: tokens, Log: log})
	if err != nil {
		return err
	}
	defer c.Close()
	for _, r := range rooms {
		if _, err := c.Join(ctx, r); err != nil {
			return fmt.Errorf("join %s: %w", r, err)
		}
	}
	if notify != "" {
		for _, r := range rooms {
			if _, err := c.Send(ctx, r, notify); err != nil {
				return fmt.Errorf("notify %s: %w", r, err)
			}
		}
		return nil
	}
	log.Info("bot: listening", "user", c.User(), "rooms", rooms)
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev := <-c.Events():
			switch e := ev.(type) {
			case *client.Message:
				answer(ctx, log, c, e)
			case *client.Disconnected:
				log.Warn("bot: disconnected; reconnecting", "err", e.Err)
			case *client.Left:
				log.Warn("bot: left a room", "room", e.Room, "err", e.Err)
			}
		}
	}
}

// answer reacts to one message. Each runs in its own goroutine so that a
// slow ack never stops the bot reading.
func answer(ctx context.Context, log *slog.Logger, c *client.Client, m *client.Message) {
	if m.From == c.User() {
		return
	}
	text, echo := strings.CutPrefix(m.Text, "!echo ")
	mentioned := slices.Contains(m.Mentions, c.User())
	if !echo && !mentioned {
		return
	}
	go func() {
		var err error
		if echo {
			_, err = c.Send(ctx, m.Room, text, client.ReplyTo(m.Seq))
		} else {
			_, err = c.React(ctx, m.Room, m.Seq, "👋")
		}
		if err != nil && ctx.Err() == nil {
			log.Warn("bot: answer", "room", m.Room, "seq", m.Seq, "err", err)
		}
	}()
}
