package broker

import (
	"encoding/json"
	"strings"

	"github.com/nats-io/nats.go"

	"github.com/natter-chat/natter"
)

// Send reports let the edges share one per-user send rate without a round
// trip per send: every edge tells the others, a few times a second, how
// many sends each of its users made since its last report, and each edge
// charges those to the user's bucket there (edge/userrate.go). They are
// ephemeral: a lost report lets a user send a little more, never less.
const ratePrefix = "natter.rate."

func rateSubject(edge string) string { return ratePrefix + edge }

// MaxSendReport is the most users one report message carries; an edge
// with more active users sends several, so that no message nears the NATS
// payload limit (1000 user ids of up to 64 bytes with a count: under 80 KiB).
const MaxSendReport = 1000

// maxSendCount bounds one user's count in a report: a corrupt or hostile
// report cannot lock a user out for longer than this many sends take.
const maxSendCount = 1 << 20

type sendReport struct {
	Sends map[natter.UserID]int `json:"sends"`
}

// PublishSends reports, for edge, how many sends each user made there
// since its previous report. sends holds at most MaxSendReport users.
func (b *Broker) PublishSends(edge string, sends map[natter.UserID]int) error {
	data, err := json.Marshal(sendReport{Sends: sends})
	if err != nil {
		return err
	}
	if err := b.nc.Publish(rateSubject(edge), data); err != nil {
		return unavailable("send report", err)
	}
	return nil
}

// FollowSends calls fn with every other edge's send reports until stop is
// called; self's own reports are skipped (its sends are already charged
// where they were made). Malformed entries are dropped.
func (b *Broker) FollowSends(self string, fn func(edge string, sends map[natter.UserID]int)) (stop func(), err error) {
	sub, err := b.nc.Subscribe(ratePrefix+"*", func(m *nats.Msg) {
		edge := strings.TrimPrefix(m.Subject, ratePrefix)
		if edge == self {
			return
		}
		var r sendReport
		if json.Unmarshal(m.Data, &r) != nil || len(r.Sends) > MaxSendReport {
			b.log.Warn("malformed send report dropped", "edge", edge, "bytes", len(m.Data))
			return
		}
		for u, n := range r.Sends {
			if u.Validate() != nil || n <= 0 {
				delete(r.Sends, u)
			} else if n > maxSendCount {
				r.Sends[u] = maxSendCount
			}
		}
		if len(r.Sends) > 0 {
			fn(edge, r.Sends)
		}
	})
	if err != nil {
		return nil, unavailable("follow send reports", err)
	}
	return func() { _ = sub.Unsubscribe() }, nil
}
