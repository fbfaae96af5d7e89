package broker

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// Edges ask each other whether they have applied a directory change, so
// that a removal is answered only once the edges holding the removed user
// have unsubscribed them. Each edge answers on a subject of its own.
func appliedSubject(edge string) string { return "natter.edge." + edge + ".applied" }

// appliedWait bounds how long an edge waits for its own watch when asked.
const appliedWait = 5 * time.Second

// ServeApplied answers, for edge, "have you applied revision N?": wait is
// called with N and the answer goes out when it returns nil (no answer if
// it fails: the asker's deadline decides). stop ends it.
func (b *Broker) ServeApplied(edge string, wait func(ctx context.Context, rev uint64) error) (stop func(), err error) {
	sub, err := b.nc.Subscribe(appliedSubject(edge), func(m *nats.Msg) {
		rev, err := strconv.ParseUint(string(m.Data), 10, 64)
		if err != nil || m.Reply == "" {
			return
		}
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), appliedWait)
			defer cancel()
			if wait(ctx, rev) == nil {
				_ = m.Respond([]byte("ok"))
			}
		}()
	})
	if err != nil {
		return nil, unavailable("serve applied", err)
	}
	return func() { _ = sub.Unsubscribe() }, nil
}

// AwaitApplied asks each of edges whether it has applied revision rev and
// returns once all have answered, or with the first failure (ctx's deadline
// included). An edge that is gone never answers: callers bound ctx.
func (b *Broker) AwaitApplied(ctx context.Context, edges []string, rev uint64) error {
	data := []byte(strconv.FormatUint(rev, 10))
	errs := make(chan error, len(edges))
	var wg sync.WaitGroup
	for _, e := range edges {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := b.nc.RequestWithContext(ctx, appliedSubject(e), data)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return unavailable("edges applied", err)
		}
	}
	return nil
}
