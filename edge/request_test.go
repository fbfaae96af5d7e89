package edge

import (
	"errors"
	"strings"
	"testing"

	"github.com/natter-chat/natter"
)

// fuzzMaxText is the max_text the request fuzzer validates against.
const fuzzMaxText = 64

// safeID reports whether s can be one NATS subject token and KV key part:
// written out here rather than through natter's validation, so that the
// fuzzer checks validate against the rule and not against itself.
func safeID(s string) bool {
	return len(s) >= 1 && len(s) <= 64 && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == ""
}

func TestValidateRequest(t *testing.T) {
	long := strings.Repeat("x", 65)
	cases := []struct {
		payload string
		code    string // "" when valid
	}{
		{`{"op":"ping","rid":7}`, ""},
		{`{"op":"send","room":"lobby","cid":"a-1","text":"hello bob","rid":3}`, ""},
		{`{"op":"ping","rid":"` + long + `"}`, natter.EINVALID},
		{`{"op":"ping","rid":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`, natter.EINVALID},
		{`{"op":`, natter.EINVALID},
		{`["ping"]`, natter.EINVALID},
		{`{"op":"join"}`, natter.EINVALID},
		{`{"op":"join","room":"a.b"}`, natter.EINVALID},
		{`{"op":"join","room":"` + long + `"}`, natter.EINVALID},
		{`{"op":"part","room":"dm-0123"}`, natter.EINVALID},
		{`{"op":"create","room":"dm-x"}`, natter.EINVALID},
		{`{"op":"create","room":"x","kind":"direct"}`, natter.EINVALID},
		{`{"op":"add","room":"x","user":"*"}`, natter.EINVALID},
		{`{"op":"dm"}`, natter.EINVALID},
		{`{"op":"send","room":"x","text":"hi"}`, natter.EINVALID},
		{`{"op":"send","room":"x","cid":"` + long + `","text":"hi"}`, natter.EINVALID},
		{`{"op":"send","room":"x","cid":"c","text":""}`, natter.EINVALID},
		{`{"op":"send","room":"x","cid":"c","text":"` + long + `"}`, natter.ETOOLARGE},
		{`{"op":"read","room":"x"}`, natter.EINVALID},
		{`{"op":"read","room":"x","seq":-1}`, natter.EINVALID},
		{`{"op":"frobnicate"}`, ""}, // refused by the dispatch, not by validate
	}
	for _, tc := range cases {
		req, err := parseRequest([]byte(tc.payload))
		if err == nil {
			err = req.validate(fuzzMaxText)
		}
		if got := codeOf(err); got != tc.code {
			t.Errorf("%s: %v (code %q), want code %q", tc.payload, err, got, tc.code)
		}
	}
}

func codeOf(err error) string {
	if err == nil {
		return ""
	}
	return natter.ErrorCode(err)
}

// FuzzDecodeRequest runs what the edge does with a client frame before any
// op touches the store: decoding and validation. It must never panic, fail
// only with invalid or too_large, and whatever it accepts must be safe to
// put into subjects, keys and the stream.
func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(`{"op":"send","room":"lobby","cid":"a-1","text":"hello bob","rid":3}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		req, err := parseRequest(payload)
		if err == nil {
			err = req.validate(fuzzMaxText)
		}
		if err != nil {
			var e *natter.Error
			if !errors.As(err, &e) || (e.Code != natter.EINVALID && e.Code != natter.ETOOLARGE) {
				t.Fatalf("error %T %v", err, err)
			}
			return
		}
		if len(req.RID) > maxRID {
			t.Fatalf("accepted a rid of %d bytes", len(req.RID))
		}
		switch req.Op {
		case opJoin, opLeave, opTyping, opPart, opCreate, opAdd, opRemove, opSend, opDelivered, opRead:
			if !safeID(string(req.Room)) {
				t.Fatalf("%s accepted room %q", req.Op, req.Room)
			}
		}
		switch req.Op {
		case opAdd, opRemove, opDM:
			if !safeID(string(req.User)) {
				t.Fatalf("%s accepted user %q", req.Op, req.User)
			}
		case opCreate:
			if req.Room.IsDM() || (req.Kind != "" && req.Kind != natter.Public && req.Kind != natter.Private) {
				t.Fatalf("create accepted room %q kind %q", req.Room, req.Kind)
			}
		case opSend:
			if req.CID == "" || len(req.CID) > 64 || req.Text == nil || *req.Text == "" || len(*req.Text) > fuzzMaxText {
				t.Fatalf("send accepted cid %q text %v", req.CID, req.Text)
			}
		case opDelivered, opRead:
			if req.Seq == 0 {
				t.Fatalf("%s accepted seq 0", req.Op)
			}
		}
	})
}
