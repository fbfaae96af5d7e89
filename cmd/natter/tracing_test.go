package main

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/natter-chat/natter/tracing"
)

// nodeTracer is a node's own tracer provider, named node, recording into
// rec: every node of a test cluster is told apart by its resource.
func nodeTracer(t *testing.T, rec *tracetest.SpanRecorder, node string) *tracing.Tracer {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.instance.id", node))))
	t.Cleanup(func() { tp.Shutdown(context.Background()) })
	return tracing.New(tp)
}

func nodeOf(s sdktrace.ReadOnlySpan) string {
	for _, kv := range s.Resource().Attributes() {
		if kv.Key == "service.instance.id" {
			return kv.Value.AsString()
		}
	}
	return "?"
}

// One send in a two-edge setup with a history replica yields one
// connected trace: the send on bob's edge, its JetStream publish, the
// fan-out on both edges that follow the room, and the archive write on
// both archives (the serve node's and the replica's).
func TestTraceOneMessage(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	s1 := startServer(t, "", func(m *Main) { m.NATSListen = "127.0.0.1:-1"; m.Tracer = nodeTracer(t, rec, "serve-1") })
	s2 := startEdge(t, s1, func(m *Main) { m.Tracer = nodeTracer(t, rec, "edge-2") })
	startServer(t, "", func(m *Main) {
		m.Role, m.NATS, m.JWTSecret, m.ArchiveName = "history", s1.m.embedded.ClientURL(), s2.m.JWTSecret, "replica-1"
		m.Tracer = nodeTracer(t, rec, "history-3")
	})
	ctx := ctxFor(t, 30*time.Second)
	alice, bob := s1.connect(ctx, "alice"), s2.connect(ctx, "bob")
	alice.join(ctx, "x", -1, "")
	bob.join(ctx, "x", -1, "")
	ack := bob.send(ctx, "x", "c1", "hello across edges")
	alice.messages(ctx, "x", 1)

	want := []string{
		"edge-2 " + tracing.SpanSend, "edge-2 " + tracing.SpanPublish,
		"edge-2 " + tracing.SpanFanout, "serve-1 " + tracing.SpanFanout,
		"serve-1 " + tracing.SpanArchive, "history-3 " + tracing.SpanArchive,
	}
	var spans []sdktrace.ReadOnlySpan
	var got []string
	// Every span ends after the message reached the node: wait for all.
	err := poll(ctx, func() bool {
		spans, got = nil, nil
		for _, s := range rec.Ended() {
			if strings.HasPrefix(s.Name(), "natter.") || strings.HasPrefix(s.Name(), "jetstream.") {
				if s.Name() != tracing.SpanReplay {
					spans = append(spans, s)
					got = append(got, nodeOf(s)+" "+s.Name())
				}
			}
		}
		return len(got) >= len(want)
	})
	sort.Strings(got)
	sort.Strings(want)
	if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("spans %v; want %v", got, want)
	}
	byName := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		byName[s.Name()] = s
	}
	send, publish := byName[tracing.SpanSend], byName[tracing.SpanPublish]
	traceID := send.SpanContext().TraceID()
	for _, s := range spans {
		if s.SpanContext().TraceID() != traceID {
			t.Errorf("%s %s is in trace %s, not the send's %s", nodeOf(s), s.Name(), s.SpanContext().TraceID(), traceID)
		}
		var parent trace.SpanContext
		switch s.Name() {
		case tracing.SpanPublish:
			parent = send.SpanContext()
		case tracing.SpanFanout, tracing.SpanArchive:
			parent = publish.SpanContext()
		}
		if s.Name() != tracing.SpanSend && s.Parent().SpanID() != parent.SpanID() {
			t.Errorf("%s %s: parent %s, want %s", nodeOf(s), s.Name(), s.Parent().SpanID(), parent.SpanID())
		}
		if !hasAttr(s, tracing.AttrSeq, fmt.Sprint(ack.Seq)) || !hasAttr(s, tracing.AttrRoom, "x") {
			t.Errorf("%s %s: attributes %v; want room x, seq %d", nodeOf(s), s.Name(), s.Attributes(), ack.Seq)
		}
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].StartTime().Before(spans[j].StartTime()) })
	t.Logf("one message, one trace %s:", traceID)
	for _, s := range spans {
		t.Logf("  %-9s %-17s span %s parent %s %v", nodeOf(s), s.Name(), s.SpanContext().SpanID(), s.Parent().SpanID(), s.EndTime().Sub(s.StartTime()))
	}

	// An HTTP request continues the caller's trace, named by its route
	// (the inner mux's, account's); probes make no spans.
	if st, _ := readyz(t, ctx, s1); st != http.StatusOK {
		t.Fatalf("readyz: %d", st)
	}
	const callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	req, _ := http.NewRequestWithContext(ctx, "GET", s1.m.URL+"/api/auth/config", nil)
	req.Header.Set("traceparent", "00-"+callerTrace+"-00f067aa0ba902b7-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := poll(ctx, func() bool {
		for _, s := range rec.Ended() {
			if s.Name() == "HTTP GET /api/auth/config" && s.SpanContext().TraceID().String() == callerTrace {
				return true
			}
		}
		return false
	}); err != nil {
		t.Fatal("no span for GET /api/auth/config in the caller's trace")
	}
	for _, s := range rec.Ended() {
		if strings.Contains(s.Name(), "readyz") {
			t.Errorf("a probe made a span: %s", s.Name())
		}
	}
}

func hasAttr(s sdktrace.ReadOnlySpan, key, value string) bool {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key && kv.Value.Emit() == value {
			return true
		}
	}
	return false
}
