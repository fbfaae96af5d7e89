package main

// The baseline: the same fan-out and publish scenarios against NATS's own
// built-in WebSocket listener (a room is a subject). Its publishers and
// JetStream senders are nats.go clients over ws://; its members are read
// by the same epoll loops as Natter's (natsws.go).
//
// Project rule: only broker/ imports nats in the product. This file is the
// deliberate exception: the bench's baseline client must speak NATS itself,
// and nothing outside this file in cmd/natter-bench imports it.

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func natsSubject(room string) string { return "bench.room." + room }

func dialNATS(url, src, name string) (*nats.Conn, error) {
	d := &net.Dialer{Timeout: 30 * time.Second}
	if src != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(src)}
		d.Control = noPortBind
	}
	return nats.Connect(url, nats.Name(name), nats.Dialer(d), nats.NoReconnect(),
		nats.Timeout(30*time.Second), nats.PingInterval(time.Minute))
}

// natsPublisher publishes bench texts to its rooms' subjects (core NATS: no
// ack, as for any NATS fan-out).
type natsPublisher struct {
	nc    *nats.Conn
	rooms []string
	buf   []byte
}

func newNATSPublisher(url, src string, rooms []string) (*natsPublisher, error) {
	nc, err := dialNATS(url, src, "bench-publisher")
	if err != nil {
		return nil, err
	}
	subs := make([]string, len(rooms))
	for i, r := range rooms {
		subs[i] = natsSubject(r)
	}
	return &natsPublisher{nc: nc, rooms: subs}, nil
}

func (p *natsPublisher) send(i int, phase int64, size int) error {
	p.buf = appendText(p.buf[:0], phase, size)
	return p.nc.Publish(p.rooms[i], p.buf)
}

func (p *natsPublisher) flush() error { return p.nc.FlushTimeout(30 * time.Second) }

func (p *natsPublisher) close() { p.nc.Close() }

// jsSender is the baseline of a durable, acked send: a JetStream publish
// with a message id (Natter sets one too, for de-duplication) over the
// WebSocket listener, with at most window publishes awaiting their acks.
type jsSender struct {
	id      int
	nc      *nats.Conn
	js      jetstream.JetStream
	subject string
	window  int
	lat     *shardedHist
	acks    atomic.Int64
	errs    atomic.Int64
	buf     []byte
}

const jsStream = "BENCH"

// createJSStream makes the baseline's stream: file storage like Natter's
// ROOMS stream, one subject per sender.
func createJSStream(ctx context.Context, url string) error {
	nc, err := dialNATS(url, "", "bench-setup")
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	_, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: jsStream, Subjects: []string{"bench.pub.>"},
		Storage: jetstream.FileStorage, Duplicates: 10 * time.Minute})
	return err
}

func newJSSender(id int, url, src string, window int, lat *shardedHist) (*jsSender, error) {
	nc, err := dialNATS(url, src, "bench-sender-"+strconv.Itoa(id))
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(window))
	if err != nil {
		nc.Close()
		return nil, err
	}
	return &jsSender{id: id, nc: nc, js: js, subject: "bench.pub." + strconv.Itoa(id), window: window, lat: lat}, nil
}

// run publishes until the deadline with at most window acks outstanding,
// then waits for the outstanding ones.
func (s *jsSender) run(ctx context.Context, until time.Time, size int) error {
	type pending struct {
		f  jetstream.PubAckFuture
		at int64
	}
	queue := make([]pending, 0, s.window)
	settle := func(p pending) {
		select {
		case <-p.f.Ok():
			s.acks.Add(1)
			s.lat.record(s.id, time.Duration(time.Now().UnixNano()-p.at))
		case <-p.f.Err():
			s.errs.Add(1)
		case <-time.After(30 * time.Second):
			s.errs.Add(1)
		}
	}
	for n := 0; time.Now().Before(until) && ctx.Err() == nil; n++ {
		if len(queue) == s.window {
			settle(queue[0])
			queue = queue[1:]
		}
		s.buf = appendText(s.buf[:0], 0, size)
		at := time.Now().UnixNano()
		f, err := s.js.PublishAsync(s.subject, s.buf, jetstream.WithMsgID(runNonce+strconv.Itoa(s.id)+"-"+strconv.Itoa(n)))
		if err != nil {
			return fmt.Errorf("js publish: %w", err)
		}
		queue = append(queue, pending{f, at})
	}
	for _, p := range queue {
		settle(p)
	}
	return nil
}

func (s *jsSender) close() { s.nc.Close() }
