package edge

import (
	"encoding/json"

	"github.com/natter-chat/natter"
)

// maxRID bounds the rid a client may have us echo: it is copied into every
// reply to the request.
const maxRID = 64

// errLongRID refuses a request whose rid is over maxRID. It is the one
// decoding error that does not close an unauthenticated connection
// (docs/PROTOCOL.md, section 3): the frame was well-formed JSON.
var errLongRID = natter.Errorf(natter.EINVALID, "rid longer than 64 bytes")

// parseRequest decodes one client frame. Its errors are EINVALID, safe to
// send to the client; a frame that is not a JSON object is never a request.
func parseRequest(payload []byte) (request, error) {
	var req request
	if err := json.Unmarshal(payload, &req); err != nil {
		return req, natter.Errorf(natter.EINVALID, "invalid JSON: %s", err)
	}
	if len(req.RID) > maxRID {
		return req, errLongRID
	}
	return req, nil
}

// version is the protocol version auth asks for: 1 if absent.
func (req *request) version() (int, error) {
	switch {
	case req.V == nil:
		return protoV1, nil
	case *req.V == protoV1 || *req.V == protoV2:
		return *req.V, nil
	}
	return 0, natter.Errorf(natter.EINVALID, "v must be 1 or 2")
}

// validate checks everything about req that needs no broker: a known op
// has the fields it needs, in the formats they must have. It runs
// before any op, so no malformed room id, user id, cid or text reaches a
// NATS subject, a KV key or the stream. maxText is the largest text of a
// send. What depends on the connection or the store (joined, member, owner,
// another user for dm) the op checks itself.
func (req *request) validate(maxText int) error {
	switch req.Op {
	case opAuth, opPing:
		return nil
	case opJoin, opLeave, opTyping:
		return validRoom(req.Room)
	case opPart:
		if err := validRoom(req.Room); err != nil {
			return err
		}
		if req.Room.IsDM() {
			return natter.Errorf(natter.EINVALID, "direct conversations cannot be left")
		}
		return nil
	case opCreate:
		if err := validRoom(req.Room); err != nil {
			return err
		}
		if req.Room.IsDM() {
			return natter.Errorf(natter.EINVALID, "room ids starting with dm- are reserved")
		}
		if req.Kind != "" && req.Kind != natter.Public && req.Kind != natter.Private {
			return natter.Errorf(natter.EINVALID, "kind must be public or private")
		}
		return nil
	case opAdd, opRemove:
		if err := validRoom(req.Room); err != nil {
			return err
		}
		return validUser(req.User)
	case opDM:
		return validUser(req.User)
	case opSend:
		if err := validRoom(req.Room); err != nil {
			return err
		}
		switch {
		case req.CID == "":
			return natter.Errorf(natter.EINVALID, "missing cid")
		case len(req.CID) > 64:
			return natter.Errorf(natter.EINVALID, "cid longer than 64 bytes")
		case req.Text == nil || *req.Text == "":
			return natter.Errorf(natter.EINVALID, "missing text")
		case len(*req.Text) > maxText:
			return natter.Errorf(natter.ETOOLARGE, "text longer than %d bytes", maxText)
		}
		return nil
	case opDelivered, opRead:
		if err := validRoom(req.Room); err != nil {
			return err
		}
		if req.Seq == 0 {
			return natter.Errorf(natter.EINVALID, "missing seq")
		}
		return nil
	default:
		return nil // missing and unknown ops are refused by the dispatch
	}
}

func validRoom(id natter.RoomID) error {
	if id == "" {
		return natter.Errorf(natter.EINVALID, "missing room")
	}
	return id.Validate()
}

func validUser(id natter.UserID) error {
	if id == "" {
		return natter.Errorf(natter.EINVALID, "missing user")
	}
	return id.Validate()
}
