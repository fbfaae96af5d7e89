package broker

import (
	"errors"
	"fmt"
	"testing"

	"github.com/natter-chat/natter"
)

// interleave publishes n messages to each of rooms a and b, alternating, and
// returns a's acks and texts.
func interleave(t *testing.T, b *Broker, n int) ([]Ack, []string) {
	t.Helper()
	p := newPublisher(t, b)
	var idx []int
	var texts []string
	for i := range n {
		idx = append(idx, p.send(Draft{Room: "a", From: "u", ClientID: fmt.Sprint("a", i), Text: fmt.Sprint("a", i)}))
		texts = append(texts, fmt.Sprint("a", i))
		p.send(Draft{Room: "b", From: "u", ClientID: fmt.Sprint("b", i), Text: fmt.Sprint("b", i)})
	}
	results := p.wait()
	acks := make([]Ack, len(idx))
	for i, j := range idx {
		acks[i] = results[j].ack
	}
	return acks, texts
}

func TestReadRoom(t *testing.T) {
	b := start(t)
	acks, texts := interleave(t, b.Broker, 10)

	t.Run("from start", func(t *testing.T) {
		got, last := readAll(t, b.Broker, "a", 0, 0)
		checkChain(t, got, "a", 0, texts)
		for i, m := range got {
			if m.Seq != acks[i].Seq {
				t.Errorf("message %d: seq %d, acked as %d", i, m.Seq, acks[i].Seq)
			}
			if m.Epoch != b.Epoch() || m.From != "u" || m.ClientID != texts[i] || m.Time.IsZero() {
				t.Errorf("message %d: %+v", i, m)
			}
		}
		if last != acks[9].Seq {
			t.Errorf("ReadRoom returned %d, want last seq %d", last, acks[9].Seq)
		}
	})
	t.Run("from middle", func(t *testing.T) {
		after := acks[3].Seq
		got, last := readAll(t, b.Broker, "a", after, 0)
		checkChain(t, got, "a", after, texts[4:])
		if last != acks[9].Seq {
			t.Errorf("ReadRoom returned %d, want %d", last, acks[9].Seq)
		}
	})
	t.Run("from a position of another room", func(t *testing.T) {
		// acks[3].Seq+1 is b's message: reading after it starts at a4.
		got, _ := readAll(t, b.Broker, "a", acks[3].Seq+1, 0)
		checkChain(t, got, "a", acks[3].Seq+1, texts[4:])
	})
	t.Run("from the end", func(t *testing.T) {
		got, last := readAll(t, b.Broker, "a", acks[9].Seq, 0)
		if len(got) != 0 || last != acks[9].Seq {
			t.Errorf("read after the last message: %v, returned %d", textsOf(got), last)
		}
	})
	t.Run("empty room", func(t *testing.T) {
		got, last := readAll(t, b.Broker, "nobody", 7, 0)
		if len(got) != 0 || last != 7 {
			t.Errorf("empty room: %d messages, returned %d; want none, 7", len(got), last)
		}
	})
	t.Run("fn error stops the read", func(t *testing.T) {
		stop := errors.New("stop")
		n := 0
		last, err := b.ReadRoom(testCtx(t), "a", 0, 0, func(natter.Message) error {
			n++
			if n == 3 {
				return stop
			}
			return nil
		})
		if !errors.Is(err, stop) || n != 3 || last != acks[1].Seq {
			t.Errorf("ReadRoom = %d, %v after %d calls; want %d, %v after 3", last, err, n, acks[1].Seq, stop)
		}
	})
}

func TestReadRoomUpTo(t *testing.T) {
	b := start(t)
	acks, texts := interleave(t, b.Broker, 10)
	got, last := readAll(t, b.Broker, "a", 0, acks[4].Seq)
	checkChain(t, got, "a", 0, texts[:5])
	if last != acks[4].Seq {
		t.Errorf("ReadRoom returned %d, want %d", last, acks[4].Seq)
	}
	// An upTo between two of the room's messages.
	got, _ = readAll(t, b.Broker, "a", acks[1].Seq, acks[4].Seq+1)
	checkChain(t, got, "a", acks[1].Seq, texts[2:5])
}

func TestReadRoomManyBatches(t *testing.T) {
	b := start(t)
	const n = 2*readBatch + 88
	acks, texts := interleave(t, b.Broker, n)
	calls := 0
	var got []natter.Message
	last, err := b.ReadRoom(testCtx(t), "a", 0, 0, func(m natter.Message) error {
		calls++
		got = append(got, m)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	checkChain(t, got, "a", 0, texts)
	if last != acks[n-1].Seq {
		t.Errorf("ReadRoom returned %d, want %d", last, acks[n-1].Seq)
	}
	// A bound in the second batch stops there.
	t.Run("upTo", func(t *testing.T) {
		got, _ := readAll(t, b.Broker, "a", 0, acks[300].Seq)
		checkChain(t, got, "a", 0, texts[:301])
	})
}

func TestLastSeq(t *testing.T) {
	b := start(t)
	ctx := testCtx(t)
	if last, err := b.LastSeq(ctx, "a"); err != nil || last != 0 {
		t.Fatalf("LastSeq of empty room = %d, %v; want 0, nil", last, err)
	}
	for i := range 3 {
		ack := say(t, b.Broker, "a", fmt.Sprint(i))
		say(t, b.Broker, "b", fmt.Sprint(i))
		if last, err := b.LastSeq(ctx, "a"); err != nil || last != ack.Seq {
			t.Fatalf("LastSeq = %d, %v; want %d", last, err, ack.Seq)
		}
	}
	// A room whose id is a prefix of another's is its own subject.
	if last, err := b.LastSeq(ctx, "b"); err != nil || last != 6 {
		t.Errorf("LastSeq(b) = %d, %v; want 6", last, err)
	}
	if last, err := b.LastSeq(ctx, "bb"); err != nil || last != 0 {
		t.Errorf("LastSeq(bb) = %d, %v; want 0", last, err)
	}
}
