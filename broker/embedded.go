package broker

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// EmbeddedConfig configures the in-process NATS server of single-node mode.
type EmbeddedConfig struct {
	DataDir string // JetStream store goes to DataDir/jetstream
	// Listen, if set (host:port), also exposes the server on TCP so that the
	// nats CLI or other processes can reach it. Empty: in-process only.
	Listen string
	// MaxStore caps JetStream file storage in bytes (0: server default).
	MaxStore int64
	// SyncAlways makes JetStream fsync every write before acking it. Without
	// it, acked messages survive a crash of the process (they are in the OS
	// page cache) but a crash of the machine can lose what was written
	// since the last periodic sync (every 2 minutes).
	SyncAlways bool
	// ControlSocket, if set, is the path of a Unix socket on which the
	// server also takes clients of this user, for natter backup
	// (control.go). A socket that cannot be served is logged, not fatal.
	ControlSocket string
	// Log receives the server's own log lines (default slog.Default()).
	Log *slog.Logger
}

// Embedded is a NATS server with JetStream running inside this process.
type Embedded struct {
	srv      *server.Server
	log      *slog.Logger
	storeDir string                 // as given to the server
	jsCfg    server.JetStreamConfig // as the server resolved it at start

	// The store's health (storefault.go).
	writeErr                 atomic.Pointer[string] // a write failed, and why
	disabled                 atomic.Bool            // JetStream disabled itself
	reported                 atomic.Bool            // the fault was logged
	faulted                  chan struct{}          // a write failed (buffered, 1)
	restarted                chan struct{}          // JetStream was restarted (buffered, 1)
	stopMonitor, monitorDone chan struct{}
	control                  *controlSocket // nil without ControlSocket
}

// StartEmbedded starts the server and waits until it accepts connections.
func StartEmbedded(cfg EmbeddedConfig) (*Embedded, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("embedded nats: data dir required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	opts := &server.Options{
		ServerName:            "natter-embedded",
		JetStream:             true,
		StoreDir:              filepath.Join(cfg.DataDir, "jetstream"),
		JetStreamMaxStore:     cfg.MaxStore,
		NoSigs:                true,
		DontListen:            cfg.Listen == "",
		MaxPayload:            1 << 20,
		DisableShortFirstPing: true,
		SyncAlways:            cfg.SyncAlways,
	}
	if cfg.Listen != "" {
		host, port, err := splitHostPort(cfg.Listen)
		if err != nil {
			return nil, fmt.Errorf("embedded nats: listen %q: %w", cfg.Listen, err)
		}
		opts.Host, opts.Port = host, port
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	e := &Embedded{srv: srv, log: cfg.Log, storeDir: opts.StoreDir, stopMonitor: make(chan struct{}), monitorDone: make(chan struct{}), faulted: make(chan struct{}, 1), restarted: make(chan struct{}, 1)}
	srv.SetLoggerV2(newNATSLog(cfg.Log, e.onLogLine), false, false, false)
	srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		return nil, errors.New("embedded nats: not ready after 30s")
	}
	jsCfg := srv.JetStreamConfig()
	if jsCfg == nil {
		srv.Shutdown()
		return nil, errors.New("embedded nats: JetStream did not start (see the log)")
	}
	e.jsCfg = *jsCfg
	go e.monitorStore()
	if cfg.ControlSocket != "" {
		if err := e.serveControl(cfg.ControlSocket); err != nil {
			e.log.Warn("no control socket: natter backup cannot reach this node", "err", err)
		}
	}
	return e, nil
}

// ClientURL is the TCP URL of the server, or "" when it listens in-process only.
func (e *Embedded) ClientURL() string {
	if e.srv.Addr() == nil {
		return ""
	}
	return e.srv.ClientURL()
}

// Shutdown stops the server and waits for it to finish, so that JetStream
// has flushed its files before the process exits.
func (e *Embedded) Shutdown() {
	if e.control != nil {
		e.control.close()
	}
	close(e.stopMonitor)
	<-e.monitorDone
	e.srv.Shutdown()
	e.srv.WaitForShutdown()
	if e.control != nil {
		e.control.wait()
	}
}
