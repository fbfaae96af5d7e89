package tracing

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// Off, every call on the hot paths returns at once and allocates nothing.
func TestOffCostsNothing(t *testing.T) {
	var tr *Tracer
	h := map[string][]string{"Traceparent": {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}}
	ctx := context.Background()
	fail := errors.New("x")
	allocs := testing.AllocsPerRun(100, func() {
		c, s := tr.Send(ctx, "room", "user")
		tr.Publish(c, "room", h).End(1, nil)
		s.End(1, nil)
		tr.Deliver(h, SpanFanout, "room", 1).End(0, nil)
		tr.Replay("room", "user").End(0, fail)
	})
	if allocs != 0 {
		t.Fatalf("tracing off allocates %v times per message", allocs)
	}
	next := http.NotFoundHandler()
	if got := tr.Middleware(next); got == nil {
		t.Fatal("no handler")
	}
}

func TestExporterName(t *testing.T) {
	cases := []struct {
		env  map[string]string
		want string
		err  bool
	}{
		{nil, "", false},
		{map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}, "otlp", false},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, "otlp", false},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}, "otlp", false},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"}, "", false},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"}, "", false},
		{map[string]string{"OTEL_TRACES_EXPORTER": "console"}, "console", false},
		{map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "", true},
		{map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "otlp", false},
		{map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, "", true},
		{map[string]string{"OTEL_TRACES_EXPORTER": "otlp,console"}, "", true},
	}
	for _, tc := range cases {
		got, err := exporterName(func(k string) string { return tc.env[k] })
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("%v: %q, %v; want %q (error %v)", tc.env, got, err, tc.want, tc.err)
		}
	}
}

// With an OTLP endpoint set, spans reach it over OTLP/HTTP: a collector
// stand-in on loopback counts the exports.
func TestFromEnvExportsOTLP(t *testing.T) {
	var posts atomic.Int64
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Method == "POST" && r.URL.Path == "/v1/traces" && r.Header.Get("Content-Type") == "application/x-protobuf" && len(body) > 0 {
			posts.Add(1)
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer collector.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)
	tr, shutdown, err := FromEnv(context.Background(), "serve", nil)
	if err != nil || tr == nil {
		t.Fatalf("FromEnv: %v %v", tr, err)
	}
	_, s := tr.Send(context.Background(), "room", "user")
	s.End(7, nil)
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if posts.Load() == 0 {
		t.Fatal("no spans exported to the collector")
	}
}

func TestFromEnvOff(t *testing.T) {
	tr, shutdown, err := FromEnv(context.Background(), "serve", func(string) string { return "" })
	if tr != nil || err != nil || shutdown(context.Background()) != nil {
		t.Fatalf("off by default: %v %v", tr, err)
	}
}

// A consumer's span continues the publisher's trace through the headers.
func TestHeadersCarryTheTrace(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tr := New(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
	ctx, send := tr.Send(context.Background(), "room", "user")
	h := map[string][]string{}
	pub := tr.Publish(ctx, "room", h)
	tr.Deliver(h, SpanFanout, "room", 3).End(0, nil)
	tr.Deliver(map[string][]string{}, SpanFanout, "room", 4).End(0, nil) // untraced message: no span
	pub.End(3, nil)
	send.End(3, nil)
	spans := rec.Ended()
	if len(spans) != 3 {
		t.Fatalf("%d spans, want 3", len(spans))
	}
	fanout, publish := spans[0], spans[1]
	if fanout.Parent().SpanID() != publish.SpanContext().SpanID() || fanout.SpanContext().TraceID() != publish.SpanContext().TraceID() {
		t.Fatalf("fan-out %v is not a child of publish %v", fanout.Parent(), publish.SpanContext())
	}
}

// The cost of tracing off, per message, on the paths it instruments: what
// a send, its publish, one fan-out and one archive write add.
func BenchmarkOff(b *testing.B) {
	var tr *Tracer
	benchMessage(b, tr)
}

// The same with tracing on (spans made and sampled, exported nowhere),
// for comparison.
func BenchmarkOn(b *testing.B) {
	benchMessage(b, New(sdktrace.NewTracerProvider()))
}

func benchMessage(b *testing.B, tr *Tracer) {
	ctx := context.Background()
	h := map[string][]string{} // the message's headers, which Publish makes anyway
	b.ReportAllocs()
	for b.Loop() {
		c, s := tr.Send(ctx, "room", "user")
		p := tr.Publish(c, "room", h)
		tr.Deliver(h, SpanFanout, "room", 1).End(0, nil)
		tr.Deliver(h, SpanArchive, "room", 1).End(0, nil)
		p.End(1, nil)
		s.End(1, nil)
	}
}
