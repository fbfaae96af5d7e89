package history

import (
	"context"
	"fmt"

	"github.com/natter-chat/natter"
)

// Source is where the archive copies messages from: the broker's durable
// archive feed.
type Source interface {
	Epoch() string
	// Archive feeds fn every message, and delivers again from stored+1
	// if the durable consumer is further on (broker.Archive).
	Archive(ctx context.Context, durable string, stored uint64, fn func([]natter.Message) error) error
}

// Archive copies every message of src into s until ctx ends, resuming from
// the durable consumer's position, or from the store's own if that is
// behind: a store emptied, replaced or restored from an older copy is
// refilled from the stream instead of missing what the consumer had
// already delivered to its predecessor. It fills each message's Prev from the
// archive itself: messages arrive in stream order and this is the only
// writer, so the room's last archived sequence is the previous message.
func Archive(ctx context.Context, s *Store, src Source, durable string) error {
	if err := s.SetEpoch(ctx, src.Epoch()); err != nil {
		return fmt.Errorf("history: epoch: %w", err)
	}
	stored, err := s.LastSeq(ctx)
	if err != nil {
		return err
	}
	last := map[natter.RoomID]uint64{}
	// A batch in progress is finished even when ctx ends (the source stops
	// after it): its writes must not be cut halfway by shutdown.
	work := context.WithoutCancel(ctx)
	return src.Archive(ctx, durable, stored, func(msgs []natter.Message) error {
		ctx := work
		// Work on a copy of the room positions: if Append fails, the batch
		// comes again and must see the positions from before it.
		next := map[natter.RoomID]uint64{}
		for i := range msgs {
			m := &msgs[i]
			prev, ok := next[m.Room]
			if !ok {
				prev, ok = last[m.Room]
			}
			if !ok {
				var err error
				if prev, err = s.Last(ctx, m.Room); err != nil {
					return err
				}
			}
			if m.Seq > prev {
				m.Prev = prev
				next[m.Room] = m.Seq
			}
		}
		if err := s.Append(ctx, msgs); err != nil {
			return err
		}
		for r, seq := range next {
			last[r] = seq
		}
		return nil
	})
}
