// Package tracing owns Natter's OpenTelemetry traces: one span per step a
// message takes (a send from its frame to its ack, the JetStream publish,
// the fan-out on every edge that follows the room, the archive write on
// every history replica), replays and HTTP requests. The trace context
// travels in the NATS headers of the stored message (W3C traceparent), so
// one message is one trace across every node it touches.
//
// A nil *Tracer is tracing switched off: every method then returns at
// once, without allocating, so the hot paths call it unconditionally.
//
// It is the only package that imports OpenTelemetry.
package tracing

import (
	"context"
	"net/http"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Span names (docs/OBSERVABILITY.md lists them with their attributes).
const (
	SpanSend    = "natter.send"       // edge: a send frame until its ack
	SpanPublish = "jetstream.publish" // broker: the publish until JetStream acks it
	SpanFanout  = "natter.fanout"     // broker, on each edge: a stored message handed to the room's sockets
	SpanArchive = "natter.archive"    // broker, on each history replica: the archive write of a message
	SpanReplay  = "natter.replay"     // edge: catching a member up from the stream and cache
)

// Attribute keys.
const (
	AttrRoom = "natter.room"
	AttrUser = "natter.user"
	AttrSeq  = "natter.seq"
)

// scope is the instrumentation scope of every span.
const scope = "github.com/natter-chat/natter"

// Tracer makes Natter's spans. The zero value is not usable; nil is off.
type Tracer struct {
	t    trace.Tracer
	prop propagation.TextMapPropagator
}

// New returns a Tracer whose spans go to tp (nil tp: nil, off).
func New(tp trace.TracerProvider) *Tracer {
	if tp == nil {
		return nil
	}
	return &Tracer{t: tp.Tracer(scope), prop: propagation.TraceContext{}}
}

// On reports whether t traces: callers that would do work only to make a
// span check it first.
func (t *Tracer) On() bool { return t != nil }

// Span is a span in progress. The zero Span (tracing off) does nothing.
type Span struct{ s trace.Span }

// End ends the span, with the message's stream sequence if known (not 0)
// and err, if any, as its status.
func (s Span) End(seq uint64, err error) {
	if s.s == nil {
		return
	}
	if seq != 0 {
		s.s.SetAttributes(attribute.Int64(AttrSeq, int64(seq)))
	}
	if err != nil {
		s.s.RecordError(err)
		s.s.SetStatus(codes.Error, err.Error())
	}
	s.s.End()
}

// Send starts the span of a client's send on an edge.
func (t *Tracer) Send(ctx context.Context, room, user string) (context.Context, Span) {
	if t == nil {
		return ctx, Span{}
	}
	ctx, s := t.t.Start(ctx, SpanSend, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String(AttrRoom, room), attribute.String(AttrUser, user)))
	return ctx, Span{s}
}

// Publish starts the span of a publish to JetStream, a child of ctx's,
// and writes its context into header, the message's NATS headers, which
// every consumer of the message reads it back from.
func (t *Tracer) Publish(ctx context.Context, room string, header map[string][]string) Span {
	if t == nil {
		return Span{}
	}
	ctx, s := t.t.Start(ctx, SpanPublish, trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(attribute.String(AttrRoom, room), attribute.String("messaging.system", "nats")))
	t.prop.Inject(ctx, propagation.HeaderCarrier(header))
	return Span{s}
}

// Deliver starts the span of one stored message consumed on this node:
// name is SpanFanout or SpanArchive. Its parent is the publish span whose
// context header carries; a message without one (stored with tracing
// off, or by an older version) gets no span at all, since a trace of its
// consumption alone would follow nothing.
func (t *Tracer) Deliver(header map[string][]string, name, room string, seq uint64) Span {
	if t == nil || len(header[traceparent]) == 0 {
		return Span{}
	}
	ctx := t.prop.Extract(context.Background(), propagation.HeaderCarrier(header))
	_, s := t.t.Start(ctx, name, trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(attribute.String(AttrRoom, room), attribute.Int64(AttrSeq, int64(seq))))
	return Span{s}
}

// traceparent is the header key as propagation.HeaderCarrier writes it.
var traceparent = http.CanonicalHeaderKey("traceparent")

// Replay starts the span of a member's replay, a trace of its own.
func (t *Tracer) Replay(room, user string) Span {
	if t == nil {
		return Span{}
	}
	_, s := t.t.Start(context.Background(), SpanReplay, trace.WithAttributes(
		attribute.String(AttrRoom, room), attribute.String(AttrUser, user)))
	return Span{s}
}

// Middleware traces every request to next but the WebSocket upgrade
// (a connection, not a request) and the probes and scrapes that come
// every few seconds (untraced): a span named by the route's pattern,
// continuing the caller's trace if the request carries a traceparent.
func (t *Tracer) Middleware(next http.Handler) http.Handler {
	if t == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if untraced[r.URL.Path] {
			next.ServeHTTP(w, r)
			return
		}
		ctx := t.prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, s := t.t.Start(ctx, "HTTP "+r.Method, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(
			attribute.String("http.request.method", r.Method), attribute.String("url.path", r.URL.Path)))
		defer s.End()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		r = r.WithContext(ctx)
		next.ServeHTTP(sw, r)
		// ServeMux fills in the pattern while routing.
		if r.Pattern != "" {
			s.SetName("HTTP " + r.Pattern)
			s.SetAttributes(attribute.String("http.route", r.Pattern))
		}
		s.SetAttributes(attribute.Int("http.response.status_code", sw.status))
		if sw.status >= 500 {
			s.SetStatus(codes.Error, strconv.Itoa(sw.status))
		}
	})
}

// untraced are the paths Middleware leaves alone.
var untraced = map[string]bool{"/ws": true, "/healthz": true, "/readyz": true, "/metrics": true}

// statusWriter remembers the status code written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection (flushes,
// deadlines).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
