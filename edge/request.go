package edge

import (
	"encoding/json"
	"strings"
	"unicode"
	"unicode/utf8"

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
	case opAuth:
		_, err := req.version()
		return err
	case opPing:
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
		if err := validChange(req, false); err != nil {
			return err
		}
		if req.AlsoRoom && req.Thread == 0 {
			return natter.Errorf(natter.EINVALID, "also_room needs thread")
		}
		return validText(req.Text, maxText)
	case opEdit:
		if err := validChange(req, true); err != nil {
			return err
		}
		return validText(req.Text, maxText)
	case opDelete:
		return validChange(req, true)
	case opReact:
		if err := validChange(req, true); err != nil {
			return err
		}
		return validEmoji(req.Emoji)
	case opTopic:
		return validTopic(req)
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

// validChange checks the room and cid of an op that stores a record, and
// its target seq if it has one.
func validChange(req *request, target bool) error {
	if err := validRoom(req.Room); err != nil {
		return err
	}
	switch {
	case req.CID == "":
		return natter.Errorf(natter.EINVALID, "missing cid")
	case len(req.CID) > maxCID:
		return natter.Errorf(natter.EINVALID, "cid longer than %d bytes", maxCID)
	case target && req.Seq == 0:
		return natter.Errorf(natter.EINVALID, "missing seq")
	}
	return nil
}

func validText(text *string, maxText int) error {
	switch {
	case text == nil || *text == "":
		return natter.Errorf(natter.EINVALID, "missing text")
	case len(*text) > maxText:
		return natter.Errorf(natter.ETOOLARGE, "text longer than %d bytes", maxText)
	}
	return nil
}

// validEmoji accepts 1 to MaxEmojiBytes bytes of UTF-8 with no whitespace
// and no control characters: an emoji sequence (joiners and variation
// selectors included) or a :shortcode:. Which emoji exist is the clients'
// business; the server only keeps the reaction a bounded, printable key.
func validEmoji(e string) error {
	switch {
	case e == "":
		return natter.Errorf(natter.EINVALID, "missing emoji")
	case len(e) > natter.MaxEmojiBytes:
		return natter.Errorf(natter.EINVALID, "emoji longer than %d bytes", natter.MaxEmojiBytes)
	case !utf8.ValidString(e):
		return natter.Errorf(natter.EINVALID, "emoji is not UTF-8")
	}
	for _, r := range e {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return natter.Errorf(natter.EINVALID, "emoji has whitespace or control characters")
		}
	}
	return nil
}

// validTopic checks a topic op: not in a DM, at least one of topic and
// name, each within its limit, UTF-8, and a name on one line.
func validTopic(req *request) error {
	if err := validChange(req, false); err != nil {
		return err
	}
	switch {
	case req.Room.IsDM():
		return natter.Errorf(natter.EINVALID, "direct conversations have no topic")
	case req.Topic == nil && req.Name == nil:
		return natter.Errorf(natter.EINVALID, "missing topic or name")
	case req.Topic != nil && len(*req.Topic) > natter.MaxTopicBytes:
		return natter.Errorf(natter.ETOOLARGE, "topic longer than %d bytes", natter.MaxTopicBytes)
	case req.Name != nil && len(*req.Name) > natter.MaxNameBytes:
		return natter.Errorf(natter.ETOOLARGE, "name longer than %d bytes", natter.MaxNameBytes)
	case req.Topic != nil && !utf8.ValidString(*req.Topic), req.Name != nil && !utf8.ValidString(*req.Name):
		return natter.Errorf(natter.EINVALID, "topic and name must be UTF-8")
	}
	if req.Name != nil && strings.IndexFunc(*req.Name, unicode.IsControl) >= 0 {
		return natter.Errorf(natter.EINVALID, "name has control characters")
	}
	return nil
}

// maxCID is the longest client id accepted (it is part of the stream's
// de-duplication id).
const maxCID = 64
