package edge

import (
	"context"
	"crypto/rand"
	"net/http"
	"time"

	"github.com/natter-chat/natter"
	"github.com/natter-chat/natter/broker"
	"github.com/natter-chat/natter/httpapi"
)

// SystemUser is who admin API posts and rooms are from when the request
// names no bot.
const SystemUser natter.UserID = "system"

// AdminHandler serves the admin API (docs/HTTP-API.md "Admin API") for
// servers and bots of the operator: create a room, add a member, post a
// message as a bot or the system user. lookup says whether a bearer token
// is an admin API token (a user's JWT never is) and, for a bot token, the
// bot it is limited to: such a token may only post, as that bot, into
// rooms the bot is a member of. Mount it at /api/admin/.
func (e *Edge) AdminHandler(lookup func(token string) (bot natter.UserID, ok bool)) http.Handler {
	admin := http.NewServeMux()
	admin.HandleFunc("POST /api/admin/rooms", e.adminCreateRoom)
	admin.HandleFunc("POST /api/admin/rooms/{room}/members", e.adminAddMember)
	admin.HandleFunc("POST /api/admin/rooms/{room}/messages", e.adminPost(""))
	return httpapi.NoStore(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := httpapi.Bearer(r.Header.Get("Authorization"))
		if !ok {
			httpapi.WriteError(w, r, e.log, natter.Errorf(natter.EUNAUTHORIZED, "missing bearer token"))
			return
		}
		bot, ok := lookup(token)
		switch {
		case !ok:
			httpapi.WriteError(w, r, e.log, natter.Errorf(natter.EFORBIDDEN, "not an admin or bot token"))
		case bot == "":
			admin.ServeHTTP(w, r)
		default:
			e.botMux(bot).ServeHTTP(w, r)
		}
	}))
}

// botMux is what a bot token may do: post as its bot.
func (e *Edge) botMux(bot natter.UserID) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/admin/rooms/{room}/messages", e.adminPost(bot))
	mux.HandleFunc("/api/admin/", func(w http.ResponseWriter, r *http.Request) {
		httpapi.WriteError(w, r, e.log, natter.Errorf(natter.EFORBIDDEN, "a bot token only posts messages"))
	})
	return mux
}

// adminRoom is the body of POST /api/admin/rooms.
type adminRoom struct {
	ID    natter.RoomID   `json:"id"`
	Kind  natter.RoomKind `json:"kind"`  // public (default) or private
	Owner natter.UserID   `json:"owner"` // default SystemUser; made a member
}

func (e *Edge) adminCreateRoom(w http.ResponseWriter, r *http.Request) {
	var in adminRoom
	err := httpapi.ReadJSON(w, r, 4<<10, &in)
	if err == nil {
		if in.Kind == "" {
			in.Kind = natter.Public
		}
		if in.Owner == "" {
			in.Owner = SystemUser
		}
		err = adminRoomValid(in)
	}
	if err != nil {
		httpapi.WriteError(w, r, e.log, err)
		return
	}
	ctx := r.Context()
	room, created, err := e.b.CreateRoom(ctx, natter.Room{ID: in.ID, Kind: in.Kind, Owner: in.Owner, Created: time.Now().UTC()})
	if err == nil && created {
		err = e.quotas.NewRoom(ctx, room.ID)
	}
	if err == nil && room.Owner != "" {
		_, err = e.addMember(ctx, room, room.Owner)
	}
	if err != nil {
		httpapi.WriteError(w, r, e.log, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	httpapi.WriteJSON(w, r, e.log, status, room)
}

func adminRoomValid(in adminRoom) error {
	if err := validRoom(in.ID); err != nil {
		return err
	}
	if in.ID.IsDM() {
		return natter.Errorf(natter.EINVALID, "direct rooms are not created here")
	}
	if in.Kind != natter.Public && in.Kind != natter.Private {
		return natter.Errorf(natter.EINVALID, "kind must be public or private")
	}
	return in.Owner.Validate()
}

// adminRoomOf is the room of the request's path, which must exist and
// not be a direct conversation.
func (e *Edge) adminRoomOf(r *http.Request) (natter.Room, error) {
	id := natter.RoomID(r.PathValue("room"))
	if err := validRoom(id); err != nil {
		return natter.Room{}, err
	}
	room, err := e.b.Room(r.Context(), id)
	if err == nil && room.Kind == natter.Direct {
		err = natter.Errorf(natter.EINVALID, "direct rooms belong to their two users")
	}
	return room, err
}

func (e *Edge) adminAddMember(w http.ResponseWriter, r *http.Request) {
	var in struct {
		User natter.UserID `json:"user"`
	}
	room, err := e.adminRoomOf(r)
	if err == nil {
		err = httpapi.ReadJSON(w, r, 4<<10, &in)
	}
	if err == nil {
		err = in.User.Validate()
	}
	if err == nil {
		_, err = e.addMember(r.Context(), room, in.User)
	}
	if err != nil {
		httpapi.WriteError(w, r, e.log, err)
		return
	}
	e.publishEvent(room.ID, event{Type: evMember, Room: room.ID, User: in.User, Action: "added"})
	e.notify(in.User, event{Type: evRoom, Room: room.ID, Kind: room.Kind, Owner: room.Owner, Action: "added", From: SystemUser})
	w.WriteHeader(http.StatusNoContent)
}

// adminMessage is the body of POST /api/admin/rooms/{room}/messages.
type adminMessage struct {
	From natter.UserID `json:"from"` // the bot posting; default SystemUser
	Text string        `json:"text"`
	// CID makes a retried request store once (as a send's cid): give one.
	CID string `json:"cid"`
}

// adminPosted is its answer.
type adminPosted struct {
	Seq       uint64 `json:"seq"`
	Epoch     string `json:"epoch"`
	Duplicate bool   `json:"duplicate,omitempty"`
}

// adminPost posts a message; bot, if set, is the only sender allowed,
// and must be a member of the room.
func (e *Edge) adminPost(bot natter.UserID) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var in adminMessage
		room, err := e.adminRoomOf(r)
		if err == nil {
			err = httpapi.ReadJSON(w, r, int64(e.cfg.MaxText)+4<<10, &in)
		}
		if err == nil && bot != "" {
			err = e.botMayPost(r.Context(), bot, room.ID, &in)
		}
		if err == nil {
			err = e.adminMessageValid(&in)
		}
		if err != nil {
			httpapi.WriteError(w, r, e.log, err)
			return
		}
		// @room notifies everyone: the operator's call, not a bot's.
		e.adminStore(w, r, room, in, bot == "")
	}
}

// botMayPost holds a bot token to its bot, to rooms it is in, and to the
// room's mutes, as a member's send is.
func (e *Edge) botMayPost(ctx context.Context, bot natter.UserID, room natter.RoomID, in *adminMessage) error {
	if in.From == "" {
		in.From = bot
	}
	if in.From != bot {
		return natter.Errorf(natter.EFORBIDDEN, "this token posts as %s only", bot)
	}
	member, err := e.b.IsMember(ctx, room, bot)
	if err == nil && !member {
		err = natter.Errorf(natter.EFORBIDDEN, "%s is not a member of %s", bot, room)
	}
	if err == nil {
		// The moderation rules are watched from the first connection on;
		// a bot may come first.
		err = e.rules.start(e.ctx)
	}
	if err == nil && e.rules.muted(room, bot) {
		err = natter.Errorf(natter.EMUTED, "%s is muted in %s", bot, room)
	}
	return err
}

func (e *Edge) adminStore(w http.ResponseWriter, r *http.Request, room natter.Room, in adminMessage, roomOK bool) {
	d := broker.Draft{Room: room.ID, From: in.From, ClientID: in.CID, Text: in.Text,
		TTL: e.rules.retention(room.ID), Record: broker.Record{Mentions: mentions(in.Text, roomOK)}}
	ack, err := e.publishWait(r.Context(), d)
	if err != nil {
		e.m.PublishErrors.WithLabelValues(natter.ErrorCode(err)).Inc()
		httpapi.WriteError(w, r, e.log, err)
		return
	}
	if ack.Duplicate {
		e.m.Duplicates.Inc()
	} else {
		e.m.Published.Inc()
	}
	httpapi.WriteJSON(w, r, e.log, http.StatusOK, adminPosted{Seq: ack.Seq, Epoch: ack.Epoch, Duplicate: ack.Duplicate})
}

func (e *Edge) adminMessageValid(in *adminMessage) error {
	if in.From == "" {
		in.From = SystemUser
	}
	if err := in.From.Validate(); err != nil {
		return err
	}
	switch {
	case in.Text == "":
		return natter.Errorf(natter.EINVALID, "missing text")
	case len(in.Text) > e.cfg.MaxText:
		return natter.Errorf(natter.ETOOLARGE, "text is %d bytes, at most %d", len(in.Text), e.cfg.MaxText)
	case len(in.CID) > maxCID:
		return natter.Errorf(natter.EINVALID, "cid longer than %d bytes", maxCID)
	case in.CID == "":
		in.CID = "admin-" + rand.Text()
	}
	return nil
}

// publishWait stores d and waits for JetStream's answer.
func (e *Edge) publishWait(ctx context.Context, d broker.Draft) (broker.Ack, error) {
	type result struct {
		ack broker.Ack
		err error
	}
	done := make(chan result, 1)
	if err := e.b.Publish(ctx, d, func(a broker.Ack, err error) { done <- result{a, err} }); err != nil {
		return broker.Ack{}, err
	}
	select {
	case res := <-done:
		return res.ack, res.err
	case <-ctx.Done():
		return broker.Ack{}, natter.Errorf(natter.EUNAVAILABLE, "gave up waiting for the store; retry with the same cid")
	}
}
