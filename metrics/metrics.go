// Package metrics defines the Prometheus collectors that Natter exports on
// /metrics. Every part of the process counts into one *Metrics, created once
// in main and passed down, so there are no package-level collectors and
// tests can use a registry of their own.
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is the set of Natter's collectors.
type Metrics struct {
	reg *prometheus.Registry

	Connections    prometheus.Gauge
	FramesIn       prometheus.Counter
	FramesOut      prometheus.Counter
	Writes         prometheus.Counter
	Published      prometheus.Counter
	Duplicates     prometheus.Counter
	Erased         prometheus.Counter // records erased from the stream by deletions
	Delivered      prometheus.Counter
	Replayed       prometheus.Counter
	ReplayReads    prometheus.Counter
	PublishLatency prometheus.Histogram
	SlowConsumers  prometheus.Counter
	Closed         *prometheus.CounterVec
	GapRepairs     prometheus.Counter
	Archived       prometheus.Counter

	// The listener's guard (package netguard).
	OpenConns     prometheus.Gauge
	AcceptErrors  *prometheus.CounterVec
	Refused       *prometheus.CounterVec
	QuotaRefusals *prometheus.CounterVec // by quota (edge/quota.go)
	// The history archive's gap-proofing (docs/RELIABILITY.md).
	ArchiveFilled    prometheus.Counter
	ArchiveSkipped   prometheus.Counter
	ArchiveRepairs   prometheus.Counter
	ArchiveErased    prometheus.Counter
	ArchiveLag       prometheus.Gauge
	ArchiveLastAudit prometheus.Gauge

	// For the alerts of deploy/prometheus/alerts.yml (docs/OBSERVABILITY.md).
	PublishErrors  *prometheus.CounterVec   // sends JetStream did not store, by error code
	NATSReconnects prometheus.Counter       // reconnections of this process's NATS connection
	Ready          prometheus.Gauge         // what /readyz answered last: 1 ready, 0 not
	HTTPDuration   *prometheus.HistogramVec // HTTP API requests, by handler and status code
	// Retention (history.Retention).
	RetentionPurged prometheus.Counter // stream messages purged by room retention
	HistoryPruned   prometheus.Counter // archived messages deleted by retention
	// Outgoing webhooks (package webhook; docs/OBSERVABILITY.md).
	WebhookDelivered prometheus.Counter   // records the endpoint accepted with a 2xx
	WebhookFailures  prometheus.Counter   // failed attempts (each is retried)
	WebhookDead      prometheus.Counter   // records given up after --webhook-max-age
	WebhookLag       prometheus.Gauge     // records stored but not yet handed to the webhook
	WebhookLatency   prometheus.Histogram // from a record's storing to its delivery
}

// New creates the collectors on a fresh registry that also carries the Go
// runtime and process collectors.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	f := func(name, help string) prometheus.Counter {
		c := prometheus.NewCounter(prometheus.CounterOpts{Namespace: "natter", Name: name, Help: help})
		reg.MustRegister(c)
		return c
	}
	m := &Metrics{
		reg:           reg,
		FramesIn:      f("frames_in_total", "WebSocket frames received from clients."),
		FramesOut:     f("frames_out_total", "WebSocket frames written to clients."),
		Writes:        f("socket_writes_total", "Socket writes to clients; frames_out_total / socket_writes_total is the frames carried per write."),
		Published:     f("messages_published_total", "Client messages stored and acknowledged by JetStream."),
		Duplicates:    f("messages_duplicate_total", "Resends recognised by client message id and not stored again."),
		Erased:        f("records_erased_total", "Records (deleted messages and their edits) erased from the stream after their tombstone was stored."),
		Delivered:     f("messages_delivered_total", "Room messages queued to local client connections (live and replayed)."),
		Replayed:      f("messages_replayed_total", "Room messages sent to clients on join/resume, from the stream or the room cache."),
		ReplayReads:   f("replay_stream_reads_total", "Stream reads made to catch joining members up (the rest came from the rooms' caches)."),
		SlowConsumers: f("slow_consumer_disconnects_total", "Connections closed because their outgoing queue was full."),
		GapRepairs:    f("feed_gap_repairs_total", "Times a room feed re-read the stream to fill a gap in live delivery."),
		Archived:      f("history_archived_total", "Messages written to the history archive."),

		ArchiveFilled:  f("archive_filled_total", "Messages the history archive read from the stream because its consumer did not deliver them in order."),
		ArchiveSkipped: f("archive_skipped_total", "Stream sequences the history archive skipped because the stream no longer held them (retention limits, deletion)."),
		ArchiveRepairs: f("archive_repairs_total", "Messages the history archive's audit found missing and restored from the stream."),
		ArchiveErased:  f("archive_erased_unseen_total", "Deleted messages the history archive never stored because the deletion erased them from the stream first: skipped, but not lost (their tombstone is archived)."),
	}
	g := func(name, help string) prometheus.Gauge {
		c := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "natter", Name: name, Help: help})
		reg.MustRegister(c)
		return c
	}
	m.ArchiveLag = g("archive_lag_messages", "Stream sequences beyond the history archive's position, as last seen by the archiver.")
	m.ArchiveLastAudit = g("archive_audit_last_timestamp_seconds", "Unix time at which the history archive's last audit against the stream completed (0: none yet).")
	m.Connections = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "natter", Name: "connections", Help: "Open, authenticated WebSocket connections."})
	m.PublishLatency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: "natter", Name: "publish_latency_seconds",
		Help:    "Time from a client's send frame to JetStream's acknowledgement.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
	})
	m.Closed = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "natter", Name: "connections_closed_total", Help: "Closed connections by WebSocket close code."}, []string{"code"})
	m.OpenConns = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "natter", Name: "tcp_connections", Help: "Open TCP connections of the listener (HTTP and WebSocket)."})
	m.AcceptErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "natter", Name: "accept_errors_total", Help: "Failed accepts of the listener, retried after a backoff, by reason (emfile, enfile, ...)."}, []string{"reason"})
	m.Refused = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "natter", Name: "connections_refused_total", Help: "Connections, upgrades and requests refused by the connection caps or the IP lists, by reason."}, []string{"reason"})
	reg.MustRegister(m.OpenConns, m.AcceptErrors, m.Refused)
	m.QuotaRefusals = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "natter", Name: "quota_refusals_total", Help: "Requests refused by a per-user or per-room quota, by quota."}, []string{"quota"})
	reg.MustRegister(m.Connections, m.PublishLatency, m.Closed, m.QuotaRefusals)
	m.PublishErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "natter", Name: "publish_errors_total", Help: "Client sends that were not stored (JetStream refused or did not answer, or the draft was invalid), by error code."}, []string{"code"})
	m.NATSReconnects = f("nats_reconnects_total", "Times this process's NATS connection was re-established after a disconnection.")
	m.RetentionPurged = f("retention_purged_total", "Room messages purged from the stream by their room's retention (those stored before it was set or shortened; the rest expire by their TTL).")
	m.HistoryPruned = f("history_pruned_total", "Messages deleted from the history archive by a room's retention or --history-max-age.")
	m.Ready = g("ready", "What /readyz answered the last time it was asked: 1 ready, 0 not ready (draining, NATS or JetStream down, archive behind).")
	m.HTTPDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "natter", Name: "http_request_duration_seconds",
		Help:    "Time to answer an HTTP API request, by handler (history, auth) and status code.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
	}, []string{"handler", "code"})
	reg.MustRegister(m.PublishErrors, m.HTTPDuration)
	m.WebhookDelivered = f("webhook_delivered_total", "Records delivered to the outgoing webhook (answered 2xx).")
	m.WebhookFailures = f("webhook_failures_total", "Failed webhook delivery attempts (error or non-2xx answer); each is retried with backoff.")
	m.WebhookDead = f("webhook_dead_total", "Records dead-lettered: still undelivered after --webhook-max-age, logged and skipped.")
	m.WebhookLag = g("webhook_lag_records", "Records stored after the one being delivered that the webhook has not been handed yet.")
	m.WebhookLatency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: "natter", Name: "webhook_delivery_latency_seconds",
		Help:    "Time from a record's storing to its successful webhook delivery (retries included).",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 20),
	})
	reg.MustRegister(m.WebhookLatency)
	// Exported from the start, so that rate() and the alerts see a zero
	// before the first failure rather than no series at all.
	for _, code := range []string{"unavailable", "internal"} {
		m.PublishErrors.WithLabelValues(code)
	}
	return m
}

// Instrument times every request h serves into HTTPDuration under name.
func (m *Metrics) Instrument(name string, h http.Handler) http.Handler {
	return promhttp.InstrumentHandlerDuration(m.HTTPDuration.MustCurryWith(prometheus.Labels{"handler": name}), h)
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}
