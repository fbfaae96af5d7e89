package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/natter-chat/natter"
	"github.com/natter-chat/natter/metrics"
	"github.com/natter-chat/natter/tracing"
)

// Config says where JetStream is and how the ROOMS stream is shaped.
type Config struct {
	// Embedded, if set, is used through an in-process connection and URLs
	// is ignored.
	Embedded *Embedded
	// URLs is a comma-separated list of NATS server URLs (cluster mode).
	URLs string
	// Credentials and TLS for an external cluster; all optional.
	User, Password string
	CredsFile      string // NATS .creds file (JWT + nkey seed)
	CAFile         string // CA that signed the servers' certificates
	CertFile       string // client certificate (mutual TLS), with KeyFile
	KeyFile        string
	// Name identifies this process in NATS connection lists.
	Name string
	// Replicas of the stream and buckets. 0 picks: 1 embedded, 3 when the
	// cluster has at least three servers, else 1.
	Replicas int
	// SyncInterval is how often followed rooms are compared with the stream
	// to catch messages lost in transit while the room stayed quiet
	// (default 5s).
	SyncInterval time.Duration
	// MaxAge and MaxBytes bound the stream (0: unlimited).
	MaxAge   time.Duration
	MaxBytes int64
	// DuplicateWindow is how long a client message id is remembered.
	DuplicateWindow time.Duration
	// Apply says which of MaxAge, MaxBytes and DuplicateWindow an existing
	// stream takes where it differs (the operator gave them); the others
	// are kept as the stream has them.
	Apply Limits
	// MaxInflight bounds unacknowledged asynchronous publishes.
	MaxInflight int
	// PingInterval and MaxPingsOut bound how long a connection to a hung
	// or cut-off NATS server is kept: it is dropped (and another server
	// tried) when MaxPingsOut pings are unanswered at the next ping, so
	// between MaxPingsOut and MaxPingsOut+1 intervals after the server
	// stopped answering. Not used with Embedded, which cannot hang apart
	// from this process. Defaults: 2s and 2.
	PingInterval time.Duration
	MaxPingsOut  int
	Log          *slog.Logger
	// Metrics, if set, is where the broker counts repairs and publishes.
	Metrics *metrics.Metrics
	// Tracer traces publishes, fan-out and archive writes (nil: off).
	Tracer *tracing.Tracer
}

// Defaults for Config fields left zero.
const (
	DefaultDuplicateWindow = 10 * time.Minute
	DefaultMaxInflight     = 4096
	DefaultSyncInterval    = 5 * time.Second
	DefaultPingInterval    = 2 * time.Second
	DefaultMaxPingsOut     = 2
	publishAckTimeout      = 10 * time.Second
	publishDrainWait       = time.Second
)

// Broker is a connection to JetStream with the ROOMS stream and the KV
// buckets Natter needs.
type Broker struct {
	cfg     Config
	log     *slog.Logger
	nc      *nats.Conn
	js      jetstream.JetStream
	stream  jetstream.Stream
	dir     jetstream.KeyValue
	cursors jetstream.KeyValue
	msgs    jetstream.KeyValue // authorisation state of changed messages (msgstate.go)
	epoch   string
	msgTTL  bool          // the stream takes per-message TTLs (retention.go)
	maxAge  time.Duration // the stream's MaxAge as of Open

	// pending routes asynchronous publish acks back to their callers; the
	// key is the *nats.Msg handed to PublishMsgAsync.
	pending sync.Map
	// feeds are the live room subscriptions, re-synced after a reconnect.
	feeds    sync.Map
	dispatch *dispatcher // delivers the feeds' messages
	// metrics counts what operators watch.
	metrics *metrics.Metrics

	full     fullState     // JetStream refused publishes for lack of resources
	restarts restartSignal // the embedded JetStream restarted (storefault.go)

	stopSync, syncDone chan struct{} // the periodic feed sync
	stopWatch          func()        // ends watchInflight (inflight.go)
	closeOnce          sync.Once
}

// Open connects and creates the stream and buckets if they do not exist.
// Creation is idempotent: several nodes starting together converge on the
// same configuration.
func Open(ctx context.Context, cfg Config) (*Broker, error) {
	if cfg.DuplicateWindow <= 0 {
		cfg.DuplicateWindow = DefaultDuplicateWindow
	}
	if cfg.MaxAge > 0 && cfg.DuplicateWindow > cfg.MaxAge {
		// JetStream refuses a window longer than the retention.
		cfg.DuplicateWindow = cfg.MaxAge
	}
	if cfg.MaxInflight <= 0 {
		cfg.MaxInflight = DefaultMaxInflight
	}
	if cfg.SyncInterval <= 0 {
		cfg.SyncInterval = DefaultSyncInterval
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.New()
	}
	b := &Broker{cfg: cfg, log: cfg.Log, metrics: cfg.Metrics}
	opts := []nats.Option{
		nats.Name(cfg.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.RetryOnFailedConnect(false),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				b.log.Warn("nats disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			b.log.Info("nats reconnected", "url", nc.ConnectedUrlRedacted())
			b.metrics.NATSReconnects.Inc()
			go b.syncFeeds()
		}),
		nats.ErrorHandler(func(_ *nats.Conn, s *nats.Subscription, err error) {
			subj := ""
			if s != nil {
				subj = s.Subject
			}
			b.log.Warn("nats async error", "subject", subj, "err", err)
		}),
	}
	url := cfg.URLs
	if cfg.Embedded != nil {
		opts = append(opts, nats.InProcessServer(cfg.Embedded.srv))
		url = ""
	} else if url == "" {
		return nil, errors.New("broker: neither embedded server nor NATS URLs given")
	} else {
		if cfg.PingInterval <= 0 {
			cfg.PingInterval = DefaultPingInterval
		}
		if cfg.MaxPingsOut <= 0 {
			cfg.MaxPingsOut = DefaultMaxPingsOut
		}
		opts = append(opts, nats.PingInterval(cfg.PingInterval), nats.MaxPingsOutstanding(cfg.MaxPingsOut))
	}
	opts = append(opts, cfg.authOptions()...)
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, fmt.Errorf("broker: connect: %w", err)
	}
	b.nc = nc
	if b.cfg.Replicas <= 0 {
		b.cfg.Replicas = 1
		if cfg.Embedded == nil && len(nc.Servers()) >= 3 {
			b.cfg.Replicas = 3
		}
	}
	js, err := jetstream.New(nc,
		jetstream.WithPublishAsyncMaxPending(cfg.MaxInflight),
		jetstream.WithPublishAsyncTimeout(publishAckTimeout),
		jetstream.WithPublishAsyncAckHandler(b.onPubAck),
		jetstream.WithPublishAsyncErrHandler(b.onPubErr),
	)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("broker: jetstream: %w", err)
	}
	b.js = js
	if err := b.ensureRetrying(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	b.stopSync = make(chan struct{})
	b.syncDone = make(chan struct{})
	b.dispatch = newDispatcher()
	go b.syncLoop()
	wctx, stopWatch := context.WithCancel(context.Background())
	b.stopWatch = stopWatch
	if cfg.Embedded != nil {
		go b.followStore(cfg.Embedded)
	} else {
		go b.watchInflight(wctx)
	}
	return b, nil
}

// authOptions turns the credential and TLS settings into nats options.
func (cfg Config) authOptions() []nats.Option {
	var opts []nats.Option
	if cfg.User != "" {
		opts = append(opts, nats.UserInfo(cfg.User, cfg.Password))
	}
	if cfg.CredsFile != "" {
		opts = append(opts, nats.UserCredentials(cfg.CredsFile))
	}
	if cfg.CAFile != "" {
		opts = append(opts, nats.RootCAs(cfg.CAFile))
	}
	if cfg.CertFile != "" {
		opts = append(opts, nats.ClientCert(cfg.CertFile, cfg.KeyFile))
	}
	return opts
}

// startupTimeout bounds how long Open waits for JetStream to become able
// to create the stream: a cluster that is still electing its meta leader
// answers with timeouts for a few seconds.
const startupTimeout = time.Minute

func (b *Broker) ensureRetrying(ctx context.Context) error {
	deadline := time.Now().Add(startupTimeout)
	for wait := 250 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
		actx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := b.ensure(actx)
		cancel()
		if err == nil || ctx.Err() != nil || time.Now().After(deadline) {
			return err
		}
		b.log.Warn("jetstream not ready; retrying", "err", err, "in", wait)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (b *Broker) ensure(ctx context.Context) error {
	scfg := jetstream.StreamConfig{
		Name:        StreamName,
		Description: "Natter chat messages, one subject per room",
		Subjects:    []string{roomWildcard},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Replicas:    b.cfg.Replicas,
		MaxAge:      b.cfg.MaxAge,
		MaxBytes:    orUnlimited(b.cfg.MaxBytes),
		MaxMsgs:     -1,
		Discard:     jetstream.DiscardOld,
		Duplicates:  b.cfg.DuplicateWindow,
		AllowDirect: true,
		AllowMsgTTL: true, // room retention (retention.go)
		RePublish:   &jetstream.RePublish{Source: roomWildcard, Destination: liveTemplate},
	}
	st, err := b.createStream(ctx, scfg)
	if err != nil {
		return fmt.Errorf("broker: stream %s: %w", StreamName, err)
	}
	b.stream = st
	b.epoch = epochOf(st.CachedInfo())
	b.msgTTL, b.maxAge = st.CachedInfo().Config.AllowMsgTTL, st.CachedInfo().Config.MaxAge

	if b.dir, err = b.createBucket(ctx, dirBucket, "rooms and memberships"); err != nil {
		return err
	}
	if b.cursors, err = b.createBucket(ctx, cursorsBucket, "per-user per-room delivered/read cursors"); err != nil {
		return err
	}
	// A message's state is kept as long as the stream may keep the message:
	// keys are written after their message, so they expire after it.
	b.msgs, err = b.createBucketWith(ctx, jetstream.KeyValueConfig{Bucket: msgsBucket,
		Description: "authors, deletions, edits and reactions of changed messages", TTL: b.cfg.MaxAge})
	return err
}

// createStream creates the stream unless it exists. An existing stream is
// used as it is, never updated: nodes starting together, or an old and a
// new version during a rolling upgrade, must not fight over its
// configuration. Changing limits is an operator's act (nats stream edit).
func (b *Broker) createStream(ctx context.Context, cfg jetstream.StreamConfig) (jetstream.Stream, error) {
	st, err := b.js.Stream(ctx, cfg.Name)
	if err == nil {
		b.warnIfDiffers(st.CachedInfo().Config, cfg)
		return b.updateLimits(ctx, st, cfg), nil
	}
	if !errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, err
	}
	st, err = b.js.CreateStream(ctx, cfg)
	if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		return b.js.Stream(ctx, cfg.Name) // another node won the race
	}
	return st, err
}

func (b *Broker) warnIfDiffers(have, want jetstream.StreamConfig) {
	a := b.cfg.Apply
	if have.MaxAge != want.MaxAge && !a.MaxAge || have.MaxBytes != want.MaxBytes && !a.MaxBytes || have.Replicas != want.Replicas || have.Duplicates != want.Duplicates && !a.Duplicates {
		b.log.Warn("stream exists with other limits; keeping them",
			"stream", have.Name, "replicas", have.Replicas, "max_age", have.MaxAge, "max_bytes", have.MaxBytes, "dedupe", have.Duplicates)
	}
}

// createBucket creates a KV bucket unless it exists, like createStream.
func (b *Broker) createBucket(ctx context.Context, name, desc string) (jetstream.KeyValue, error) {
	return b.createBucketWith(ctx, jetstream.KeyValueConfig{Bucket: name, Description: desc})
}

// createBucketWith is createBucket for a bucket with more settings than a
// name and description (a TTL); history, storage and replicas are ours.
func (b *Broker) createBucketWith(ctx context.Context, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	name := cfg.Bucket
	kv, err := b.js.KeyValue(ctx, name)
	if err == nil {
		return kv, nil
	}
	if !errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, fmt.Errorf("broker: bucket %s: %w", name, err)
	}
	cfg.History, cfg.Storage, cfg.Replicas = 1, jetstream.FileStorage, b.cfg.Replicas
	kv, err = b.js.CreateKeyValue(ctx, cfg)
	if errors.Is(err, jetstream.ErrBucketExists) {
		kv, err = b.js.KeyValue(ctx, name)
	}
	if err != nil {
		return nil, fmt.Errorf("broker: bucket %s: %w", name, err)
	}
	return kv, nil
}

func orUnlimited(n int64) int64 {
	if n <= 0 {
		return -1
	}
	return n
}

// epochOf is the epoch of a stream: its creation time, base 36. A stream
// restored from a backup keeps the original creation time in its metadata
// (createdMetadata), since JetStream gives a restored stream a new one.
func epochOf(info *jetstream.StreamInfo) string {
	created := info.Created
	if v, ok := info.Config.Metadata[createdMetadata]; ok {
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			created = t
		}
	}
	return strconv.FormatInt(created.UnixNano(), 36)
}

// Epoch identifies the current incarnation of the ROOMS stream.
func (b *Broker) Epoch() string { return b.epoch }

// Ready reports whether the NATS connection is up and JetStream answers.
func (b *Broker) Ready(ctx context.Context) error {
	if !b.nc.IsConnected() {
		return errors.New("nats not connected")
	}
	if err := b.storeFault(false); err != nil {
		return errors.New(natter.ErrorMessage(err))
	}
	if _, err := b.js.AccountInfo(ctx); err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	return nil
}

// Close waits (up to ctx) for outstanding publish acks, then drains the
// connection so that nothing buffered is lost.
func (b *Broker) Close(ctx context.Context) error {
	b.closeOnce.Do(func() { close(b.stopSync); b.stopWatch() })
	<-b.syncDone
	// Outstanding publishes are on their way to JetStream, which stores
	// them whether or not we wait; waiting only lets their acks reach
	// callers, so it is short. A sender without an ack resends its cid.
	select {
	case <-b.js.PublishAsyncComplete():
	case <-ctx.Done():
	case <-time.After(publishDrainWait):
	}
	done := make(chan struct{})
	b.nc.SetClosedHandler(func(*nats.Conn) { close(done) })
	if err := b.nc.Drain(); err != nil {
		b.nc.Close()
		b.dispatch.close()
		return err
	}
	select {
	case <-done:
	case <-ctx.Done():
		b.nc.Close()
	}
	b.dispatch.close()
	return nil
}
