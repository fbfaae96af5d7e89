package edge

import (
	"errors"
	"strings"
	"testing"
	"unicode"

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
		{`{"op":"auth","token":"t","v":2}`, ""},
		{`{"op":"auth","token":"t","v":3}`, natter.EINVALID},
		{`{"op":"auth","token":"t","v":"2"}`, natter.EINVALID},
		{`{"op":"auth","token":"t","v":1.5}`, natter.EINVALID},
		{`{"op":"send","room":"x","cid":"c","text":"hi","reply_to":3,"thread":2,"also_room":true}`, ""},
		{`{"op":"send","room":"x","cid":"c","text":"hi","also_room":true}`, natter.EINVALID},
		{`{"op":"send","room":"x","cid":"c","text":"hi","reply_to":-1}`, natter.EINVALID},
		{`{"op":"send","room":"x","cid":"c","text":"hi","thread":"2"}`, natter.EINVALID},
		{`{"op":"edit","room":"x","seq":3,"cid":"c","text":"new"}`, ""},
		{`{"op":"edit","room":"x","cid":"c","text":"new"}`, natter.EINVALID},
		{`{"op":"edit","room":"x","seq":3,"text":"new"}`, natter.EINVALID},
		{`{"op":"edit","room":"x","seq":3,"cid":"c"}`, natter.EINVALID},
		{`{"op":"edit","room":"x","seq":3,"cid":"c","text":""}`, natter.EINVALID},
		{`{"op":"edit","room":"x","seq":3,"cid":"c","text":"` + long + `"}`, natter.ETOOLARGE},
		{`{"op":"edit","room":"a.b","seq":3,"cid":"c","text":"x"}`, natter.EINVALID},
		{`{"op":"delete","room":"x","seq":3,"cid":"c"}`, ""},
		{`{"op":"delete","room":"x","cid":"c"}`, natter.EINVALID},
		{`{"op":"delete","room":"x","seq":3}`, natter.EINVALID},
		{`{"op":"delete","room":"x","seq":3,"cid":"` + long + `"}`, natter.EINVALID},
		{`{"op":"react","room":"x","seq":3,"cid":"c","emoji":"👍🏽"}`, ""},
		{`{"op":"react","room":"x","seq":3,"cid":"c","emoji":":tada:","remove":true}`, ""},
		{`{"op":"react","room":"x","seq":3,"cid":"c","emoji":"👨‍👩‍👧"}`, ""},
		{`{"op":"react","room":"x","seq":3,"cid":"c"}`, natter.EINVALID},
		{`{"op":"react","room":"x","seq":3,"cid":"c","emoji":"a b"}`, natter.EINVALID},
		{`{"op":"react","room":"x","seq":3,"cid":"c","emoji":"a\n"}`, natter.EINVALID},
		{`{"op":"react","room":"x","seq":3,"cid":"c","emoji":"\u0000"}`, natter.EINVALID},
		{`{"op":"react","room":"x","seq":3,"cid":"c","emoji":"` + strings.Repeat("x", 33) + `"}`, natter.EINVALID},
		{`{"op":"react","room":"x","seq":3,"cid":"c","emoji":"x","remove":"yes"}`, natter.EINVALID},
		{`{"op":"topic","room":"x","cid":"c","topic":"plans"}`, ""},
		{`{"op":"topic","room":"x","cid":"c","name":""}`, ""},
		{`{"op":"topic","room":"x","cid":"c"}`, natter.EINVALID},
		{`{"op":"topic","room":"x","topic":"t"}`, natter.EINVALID},
		{`{"op":"topic","room":"dm-0123","cid":"c","topic":"t"}`, natter.EINVALID},
		{`{"op":"topic","room":"x","cid":"c","topic":"` + strings.Repeat("x", natter.MaxTopicBytes+1) + `"}`, natter.ETOOLARGE},
		{`{"op":"topic","room":"x","cid":"c","name":"` + strings.Repeat("x", natter.MaxNameBytes+1) + `"}`, natter.ETOOLARGE},
		{`{"op":"topic","room":"x","cid":"c","name":"two\nlines"}`, natter.EINVALID},
		{`{"op":"topic","room":"x","cid":"c","topic":7}`, natter.EINVALID},
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
	for _, seed := range []string{
		`{"op":"send","room":"lobby","cid":"a-1","text":"hello bob","rid":3}`,
		`{"op":"auth","token":"t","v":2}`,
		`{"op":"send","room":"x","cid":"c","text":"hi @bob","reply_to":3,"thread":2,"also_room":true}`,
		`{"op":"edit","room":"x","seq":3,"cid":"c","text":"new"}`,
		`{"op":"delete","room":"x","seq":3,"cid":"c"}`,
		`{"op":"react","room":"x","seq":3,"cid":"c","emoji":"👍","remove":true}`,
		`{"op":"topic","room":"x","cid":"c","topic":"t","name":"n"}`,
	} {
		f.Add([]byte(seed))
	}
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
		case opJoin, opLeave, opTyping, opPart, opCreate, opAdd, opRemove, opSend, opDelivered, opRead, opEdit, opDelete, opReact, opTopic:
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
		case opAuth:
			if req.V != nil && *req.V != 1 && *req.V != 2 {
				t.Fatalf("auth accepted v %d", *req.V)
			}
		}
		switch req.Op {
		case opSend, opEdit, opDelete, opReact, opTopic:
			if req.CID == "" || len(req.CID) > 64 {
				t.Fatalf("%s accepted cid %q", req.Op, req.CID)
			}
		}
		switch req.Op {
		case opSend:
			if req.AlsoRoom && req.Thread == 0 {
				t.Fatal("send accepted also_room without thread")
			}
		case opEdit:
			if req.Seq == 0 || req.Text == nil || *req.Text == "" || len(*req.Text) > fuzzMaxText {
				t.Fatalf("edit accepted seq %d text %v", req.Seq, req.Text)
			}
		case opDelete:
			if req.Seq == 0 {
				t.Fatal("delete accepted seq 0")
			}
		case opReact:
			if req.Seq == 0 || req.Emoji == "" || len(req.Emoji) > natter.MaxEmojiBytes || strings.IndexFunc(req.Emoji, unicode.IsSpace) >= 0 || strings.IndexFunc(req.Emoji, unicode.IsControl) >= 0 {
				t.Fatalf("react accepted seq %d emoji %q", req.Seq, req.Emoji)
			}
		case opTopic:
			if req.Room.IsDM() || (req.Topic == nil && req.Name == nil) ||
				(req.Topic != nil && len(*req.Topic) > natter.MaxTopicBytes) || (req.Name != nil && len(*req.Name) > natter.MaxNameBytes) {
				t.Fatalf("topic accepted room %q topic %v name %v", req.Room, req.Topic, req.Name)
			}
		}
	})
}
