package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/natter-chat/natter/edge/wsclient"
)

// historyMsg is a message of a history page in its current state (the
// history API of issue 11, docs/HTTP-API.md).
type historyMsg struct {
	Seq       uint64   `json:"seq"`
	From      string   `json:"from"`
	Text      string   `json:"text"`
	Edited    string   `json:"edited"`
	Deleted   bool     `json:"deleted"`
	ReplyTo   uint64   `json:"reply_to"`
	Thread    uint64   `json:"thread"`
	AlsoRoom  bool     `json:"also_room"`
	Mentions  []string `json:"mentions"`
	Reactions []struct {
		Emoji string   `json:"emoji"`
		Users []string `json:"users"`
	} `json:"reactions"`
}

// checkHistoryProjection compares each room's history, message by message
// in its current state, with the view its first member ended with: the
// history archive must apply the records as the clients do. It waits (up
// to d) for the archive to catch up. A mismatch is counted in
// rep.ProjectionsDiffer.
func checkHistoryProjection(ctx context.Context, cl *cluster, clients []*chatClient, rep *report, d time.Duration) error {
	first := map[string]*chatClient{}
	for _, c := range clients {
		if first[c.room] == nil {
			first[c.room] = c
		}
	}
	deadline := time.Now().Add(d)
	for {
		differ, example := 0, ""
		for room, c := range first {
			got, err := historyView(ctx, cl.histURL, room, c.token)
			if err != nil {
				return err
			}
			c.mu.Lock()
			want := c.proj.View()
			c.mu.Unlock()
			if got != want {
				differ++
				example = fmt.Sprintf("history of %s:\n%s\nmembers:\n%s", room, got, want)
			}
		}
		if differ == 0 || time.Now().After(deadline) {
			rep.ProjectionsDiffer += differ
			if example != "" && rep.projectionExample == "" {
				rep.projectionExample = example
			}
			return nil
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// historyView pages through a room's history and renders it as
// wsclient.Room.View does.
func historyView(ctx context.Context, base, room, token string) (string, error) {
	r := wsclient.NewRoom()
	after := uint64(0)
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/api/rooms/%s/messages?after=%d&limit=200", base, room, after), nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return "", err
		}
		var page struct {
			Messages []historyMsg `json:"messages"`
			HasMore  bool         `json:"has_more"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			return "", fmt.Errorf("history %s: status %d %v", room, resp.StatusCode, err)
		}
		for _, m := range page.Messages {
			after = max(after, m.Seq)
			msg := &wsclient.Msg{Seq: m.Seq, From: m.From, Text: m.Text, Edited: m.Edited != "", Deleted: m.Deleted,
				ReplyTo: m.ReplyTo, Thread: m.Thread, AlsoRoom: m.AlsoRoom, Mentions: m.Mentions}
			for _, x := range m.Reactions {
				msg.Reactions = append(msg.Reactions, wsclient.Reaction{Emoji: x.Emoji, Users: x.Users})
			}
			r.Msgs[m.Seq] = msg
		}
		if !page.HasMore {
			break
		}
	}
	return r.View(), nil
}
