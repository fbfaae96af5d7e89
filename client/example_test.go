package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/natter-chat/natter/client"
)

// Connect, join a room and print what arrives. The TokenSource is called at
// every connect, so it can fetch a fresh token each time.
func Example() {
	ctx := context.Background()
	c, err := client.Dial(ctx, client.Config{
		URL:   "ws://127.0.0.1:8080/ws",
		Token: func(ctx context.Context) (string, error) { return fetchToken(ctx, "alice") },
	})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Join(ctx, "lobby"); err != nil {
		log.Fatal(err)
	}
	if _, err := c.Send(ctx, "lobby", "hello"); err != nil {
		log.Fatal(err)
	}
	for ev := range c.Events() {
		switch e := ev.(type) {
		case *client.Message:
			fmt.Printf("%s #%d %s: %s\n", e.Room, e.Seq, e.From, e.Text)
		case *client.Edit:
			fmt.Printf("%s #%d edited: %s\n", e.Room, e.Target, e.Text)
		case *client.Delete:
			fmt.Printf("%s #%d deleted by %s\n", e.Room, e.Target, e.From)
		case *client.Reaction:
			fmt.Printf("%s #%d %s %s (removed: %v)\n", e.Room, e.Target, e.From, e.Emoji, e.Remove)
		case *client.Joined:
			if e.Reset {
				fmt.Println(e.Room, "was recreated: drop what you hold of it")
			}
		case *client.Disconnected:
			fmt.Println("disconnected, reconnecting:", e.Err)
		}
	}
}

// fetchToken stands for your login: POST /api/auth/login of the built-in
// accounts, or your identity provider.
func fetchToken(ctx context.Context, user string) (string, error) {
	return "", errors.New("no token service in this example")
}

// Resume a room from a position stored earlier (say, in a database), and
// keep the position up to date as records arrive.
func ExampleFrom() {
	ctx := context.Background()
	c, err := client.Dial(ctx, client.Config{URL: "ws://127.0.0.1:8080/ws", Token: client.StaticToken("eyJ…")})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	var stored struct {
		seq   uint64
		epoch string
	} // from your store
	j, err := c.Join(ctx, "lobby", client.From(stored.seq, stored.epoch))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("replaying", j.Last-j.After > 0)
}

// A send whose call ended without an ack (its context ran out) has an
// unknown outcome: send it again with the same cid, and it is stored once.
func ExampleWithCID() {
	ctx := context.Background()
	c, err := client.Dial(ctx, client.Config{URL: "ws://127.0.0.1:8080/ws", Token: client.StaticToken("eyJ…")})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	cid := client.NewCID()
	short, cancel := context.WithTimeout(ctx, time.Second)
	_, err = c.Send(short, "lobby", "report ready", client.WithCID(cid))
	cancel()
	if errors.Is(err, context.DeadlineExceeded) {
		ack, err := c.Send(ctx, "lobby", "report ready", client.WithCID(cid))
		fmt.Println(ack.Seq, ack.Dup, err) // Dup: the first one was stored after all
	}
}

// Branch on the protocol's error codes (PROTOCOL.md section 11).
func ExampleErrorCode() {
	err := fmt.Errorf("send: %w", &client.Error{Code: "slow_mode", Message: "slow mode in town: wait 3s", Wait: 3 * time.Second})
	var e *client.Error
	if client.ErrorCode(err) == "slow_mode" && errors.As(err, &e) {
		fmt.Println("retry in", e.Wait)
	}
	// Output: retry in 3s
}
