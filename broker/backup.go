package broker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Backups of the embedded server go through JetStream's own snapshot and
// restore API ($JS.API.STREAM.SNAPSHOT/RESTORE), stream by stream: a
// snapshot is consistent within its stream and taken while the server
// runs. The backup process reaches the running server through the control
// socket that Embedded serves in its data dir (ControlSocket), which only
// the server's user can open.

// StreamSnapshot is one stream of a backup: its name, and the config and
// state JetStream reported with the snapshot (given back at restore).
type StreamSnapshot struct {
	Name    string          `json:"name"`
	Created time.Time       `json:"created"` // the stream's, kept by Restore
	Config  json.RawMessage `json:"config"`
	State   json.RawMessage `json:"state"`
}

// createdMetadata is the stream metadata key under which Restore keeps a
// stream's original creation time: JetStream gives a restored stream a new
// one, and the room stream's creation time is its epoch (epochOf), which
// clients' positions and the cursors are tagged with.
const createdMetadata = "natter.created"

// backupOrder puts the room stream last: the buckets (rooms, memberships,
// cursors, accounts) are snapshotted first, so that no restored cursor or
// room refers to a message the restored stream lacks.
func backupOrder(names []string) []string {
	slices.SortFunc(names, func(a, b string) int {
		switch {
		case a == b:
			return 0
		case a == StreamName:
			return 1
		case b == StreamName:
			return -1
		case a < b:
			return -1
		}
		return 1
	})
	return names
}

// DialControlSocket connects to the embedded server of a running node
// through its control socket.
func DialControlSocket(path string) (*nats.Conn, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("no running natter serve owns this data dir (%w); backups are taken from a running node", err)
	}
	nc, err := nats.Connect("nats://control-socket", nats.Name("natter-backup"), nats.SetCustomDialer(socketDialer(path)),
		nats.MaxReconnects(0), nats.Timeout(5*time.Second))
	if err != nil {
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	return nc, nil
}

type socketDialer string

func (p socketDialer) Dial(_, _ string) (net.Conn, error) { return net.Dial("unix", string(p)) }

// Snapshot writes a snapshot of every stream of nc's account, each to the
// writer that open returns for its name, and returns what restoring them
// needs.
func Snapshot(ctx context.Context, nc *nats.Conn, open func(stream string) (io.WriteCloser, error)) ([]StreamSnapshot, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	var names []string
	lister := js.StreamNames(ctx)
	for n := range lister.Name() {
		names = append(names, n)
	}
	if err := lister.Err(); err != nil {
		return nil, fmt.Errorf("list streams: %w", err)
	}
	var out []StreamSnapshot
	for _, name := range backupOrder(names) {
		w, err := open(name)
		if err != nil {
			return nil, err
		}
		st, err := js.Stream(ctx, name)
		if err != nil {
			w.Close()
			return nil, fmt.Errorf("stream %s: %w", name, err)
		}
		snap, err := snapshotStream(ctx, nc, name, w)
		snap.Created = st.CachedInfo().Created
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("snapshot of stream %s: %w", name, err)
		}
		out = append(out, snap)
	}
	return out, nil
}

// apiError is the error of a JetStream API response.
type apiError struct {
	Error *struct {
		Code        int    `json:"code"`
		Description string `json:"description"`
	} `json:"error"`
}

func (e apiError) err() error {
	if e.Error == nil {
		return nil
	}
	return fmt.Errorf("jetstream: %s (%d)", e.Error.Description, e.Error.Code)
}

func snapshotStream(ctx context.Context, nc *nats.Conn, name string, w io.Writer) (StreamSnapshot, error) {
	inbox := nc.NewInbox()
	sub, err := nc.SubscribeSync(inbox)
	if err != nil {
		return StreamSnapshot{}, err
	}
	defer sub.Unsubscribe()
	// Consumers are left out: the archive's consumer is recreated from
	// the restored history database's position, edges' are ephemeral.
	req, _ := json.Marshal(map[string]any{"deliver_subject": inbox, "no_consumers": true})
	resp, err := nc.RequestWithContext(ctx, "$JS.API.STREAM.SNAPSHOT."+name, req)
	if err != nil {
		return StreamSnapshot{}, err
	}
	var r struct {
		apiError
		Config json.RawMessage `json:"config"`
		State  json.RawMessage `json:"state"`
	}
	if err := json.Unmarshal(resp.Data, &r); err != nil {
		return StreamSnapshot{}, err
	}
	if err := r.err(); err != nil {
		return StreamSnapshot{}, err
	}
	// Chunks carry a reply subject to acknowledge (the server's flow
	// control), except the last one; then an empty message without one
	// ends the snapshot, with a status if it failed.
	for {
		m, err := sub.NextMsgWithContext(ctx)
		if err != nil {
			return StreamSnapshot{}, err
		}
		if len(m.Data) == 0 && m.Reply == "" {
			if st := m.Header.Get("Status"); st != "" && st != "204" {
				return StreamSnapshot{}, fmt.Errorf("jetstream ended the snapshot: %s %s", st, m.Header.Get("Description"))
			}
			return StreamSnapshot{Name: name, Config: r.Config, State: r.State}, nil
		}
		if _, err := w.Write(m.Data); err != nil {
			return StreamSnapshot{}, err
		}
		if m.Reply != "" {
			if err := m.Respond(nil); err != nil {
				return StreamSnapshot{}, err
			}
		}
	}
}

// restoreChunk is the size of the pieces a snapshot is sent back in.
const restoreChunk = 128 << 10

// Restore recreates every stream of snaps, whose snapshot data read
// returns, on e, which must not hold them yet.
func (e *Embedded) Restore(ctx context.Context, snaps []StreamSnapshot, read func(stream string) (io.ReadCloser, error)) error {
	nc, err := nats.Connect("", nats.InProcessServer(e.srv), nats.Name("natter-restore"))
	if err != nil {
		return err
	}
	defer nc.Close()
	for _, s := range snaps {
		r, err := read(s.Name)
		if err != nil {
			return err
		}
		err = restoreStream(ctx, nc, s, r)
		r.Close()
		if err != nil {
			return fmt.Errorf("restore of stream %s: %w", s.Name, err)
		}
	}
	return nil
}

// keepCreated returns cfg with the stream's creation time in its
// metadata, unless it has one already (a stream restored before).
func keepCreated(cfg json.RawMessage, created time.Time) (json.RawMessage, error) {
	var c map[string]any
	if err := json.Unmarshal(cfg, &c); err != nil {
		return nil, fmt.Errorf("stream config: %w", err)
	}
	md, _ := c["metadata"].(map[string]any)
	if md == nil {
		md = map[string]any{}
	}
	if _, ok := md[createdMetadata]; !ok && !created.IsZero() {
		md[createdMetadata] = created.UTC().Format(time.RFC3339Nano)
	}
	c["metadata"] = md
	return json.Marshal(c)
}

func restoreStream(ctx context.Context, nc *nats.Conn, s StreamSnapshot, r io.Reader) error {
	cfg, err := keepCreated(s.Config, s.Created)
	if err != nil {
		return err
	}
	req, _ := json.Marshal(map[string]json.RawMessage{"config": cfg, "state": s.State})
	resp, err := nc.RequestWithContext(ctx, "$JS.API.STREAM.RESTORE."+s.Name, req)
	if err != nil {
		return err
	}
	var start struct {
		apiError
		DeliverSubject string `json:"deliver_subject"`
	}
	if err := json.Unmarshal(resp.Data, &start); err != nil {
		return err
	}
	if err := start.err(); err != nil {
		return err
	}
	buf := make([]byte, restoreChunk)
	for {
		n, rerr := io.ReadFull(r, buf)
		if n > 0 {
			ack, err := nc.RequestWithContext(ctx, start.DeliverSubject, buf[:n])
			if err != nil {
				return err
			}
			if len(ack.Data) > 0 {
				var e apiError
				if json.Unmarshal(ack.Data, &e) == nil && e.err() != nil {
					return e.err()
				}
			}
		}
		if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
			break
		}
		if rerr != nil {
			return rerr
		}
	}
	// An empty message ends the transfer; the answer comes once the
	// stream is restored.
	done, err := nc.RequestWithContext(ctx, start.DeliverSubject, nil)
	if err != nil {
		return err
	}
	var end apiError
	if err := json.Unmarshal(done.Data, &end); err != nil {
		return fmt.Errorf("restore answer %q: %w", done.Data, err)
	}
	return end.err()
}
