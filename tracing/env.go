package tracing

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// FromEnv sets tracing up as the standard OTEL_* environment variables
// say, read through getenv (os.Getenv if nil). It is off unless asked for:
// OTEL_TRACES_EXPORTER=otlp (or console: spans as JSON on stdout), or an
// OTLP endpoint set (OTEL_EXPORTER_OTLP_ENDPOINT or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) with no exporter named;
// OTEL_SDK_DISABLED=true and OTEL_TRACES_EXPORTER=none keep it off. The
// exporter, sampler (OTEL_TRACES_SAMPLER), batching (OTEL_BSP_*) and
// resource (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES) read their own
// variables. role becomes the natter.role resource attribute.
//
// Off, it returns a nil Tracer and a shutdown that does nothing. On,
// shutdown flushes the spans not yet exported.
func FromEnv(ctx context.Context, role string, getenv func(string) string) (*Tracer, func(context.Context) error, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	off := func(context.Context) error { return nil }
	exporter, err := exporterName(getenv)
	if err != nil || exporter == "" {
		return nil, off, err
	}
	var exp sdktrace.SpanExporter
	switch exporter {
	case "otlp":
		exp, err = otlptracehttp.New(ctx)
	case "console":
		exp, err = stdouttrace.New()
	}
	if err != nil {
		return nil, off, fmt.Errorf("tracing: %s exporter: %w", exporter, err)
	}
	// Later sources win: the environment overrides our defaults.
	res, err := resource.Merge(resource.NewSchemaless(
		attribute.String("service.name", "natter"), attribute.String("natter.role", role)),
		resource.Environment())
	if err != nil {
		return nil, off, fmt.Errorf("tracing: resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	return New(tp), tp.Shutdown, nil
}

// exporterName is the exporter the environment asks for ("" for none).
func exporterName(getenv func(string) string) (string, error) {
	if strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true") {
		return "", nil
	}
	name := strings.ToLower(strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER")))
	if name == "" && (getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "") {
		name = "otlp"
	}
	switch name {
	case "", "none":
		return "", nil
	case "otlp":
		proto := getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
		if proto == "" {
			proto = getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
		}
		if proto != "" && proto != "http/protobuf" {
			return "", fmt.Errorf("tracing: OTLP protocol %q is not supported: use http/protobuf (a collector's port 4318)", proto)
		}
		return name, nil
	case "console":
		return name, nil
	}
	if strings.Contains(name, ",") {
		return "", errors.New("tracing: OTEL_TRACES_EXPORTER names several exporters; Natter takes one (otlp, console or none)")
	}
	return "", fmt.Errorf("tracing: OTEL_TRACES_EXPORTER=%q is not supported (otlp, console or none)", name)
}
