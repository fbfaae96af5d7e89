package broker

import (
	"context"

	"github.com/nats-io/nats.go"

	"github.com/natter-chat/natter"
	"github.com/natter-chat/natter/tracing"
)

// tracePublish starts the span of m's publish (its context goes into m's
// headers, so every edge and archive that consumes the message continues
// the trace) and returns done wrapped to end it at the ack, and fail to
// end it if the publish fails before it is sent. Off, done is unchanged.
func (b *Broker) tracePublish(ctx context.Context, room natter.RoomID, m *nats.Msg, done func(Ack, error)) (func(Ack, error), func(error)) {
	if !b.cfg.Tracer.On() {
		return done, func(error) {}
	}
	span := b.cfg.Tracer.Publish(ctx, string(room), m.Header)
	return func(a Ack, err error) {
		span.End(a.Seq, err)
		done(a, err)
	}, func(err error) { span.End(0, err) }
}

// storedHeader is m's NATS header if tracing wants it (nil otherwise, or
// if it has none or it does not parse).
func (b *Broker) storedHeader(m *storedMsg) nats.Header {
	if !b.cfg.Tracer.On() || len(m.Header) == 0 {
		return nil
	}
	h, err := nats.DecodeHeadersMsg(m.Header)
	if err != nil {
		return nil
	}
	return h
}

// traceArchive starts an archive span for every message of batch that
// carries a trace context; end ends them all.
func (b *Broker) traceArchive(batch archiveBatch) (end func(error)) {
	if !b.cfg.Tracer.On() {
		return func(error) {}
	}
	var spans []tracing.Span
	for i, h := range batch.headers {
		if h != nil {
			spans = append(spans, b.cfg.Tracer.Deliver(h, tracing.SpanArchive, string(batch.Msgs[i].Room), batch.Msgs[i].Seq))
		}
	}
	return func(err error) {
		for _, s := range spans {
			s.End(0, err)
		}
	}
}
