package edge

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/natter-chat/natter"
)

// appendMsg appends the wire form of a room record (a msg event, fields
// in the order of the event struct), without reflection; a test checks it
// against encoding/json. A room record is encoded once per edge and
// protocol version, but a replay encodes every record it reads.
func appendMsg(b []byte, m natter.Message) []byte {
	b = append(b, `{"type":"msg"`...)
	b = appendField(b, "room", string(m.Room))
	if m.Seq != 0 {
		b = append(b, `,"seq":`...)
		b = strconv.AppendUint(b, m.Seq, 10)
	}
	b = append(b, `,"prev":`...)
	b = strconv.AppendUint(b, m.Prev, 10)
	b = appendField(b, "epoch", m.Epoch)
	b = appendField(b, "from", string(m.From))
	b = append(b, `,"text":`...)
	b = appendString(b, m.Text)
	b = appendField(b, "cid", m.ClientID)
	b = append(b, `,"ts":"`...)
	b = m.Time.AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	b = appendField(b, "kind", m.Kind)
	b = appendUint(b, "target", m.Target)
	b = appendUint(b, "reply_to", m.ReplyTo)
	b = appendUint(b, "thread", m.Thread)
	if m.AlsoRoom {
		b = append(b, `,"also_room":true`...)
	}
	if len(m.Mentions) > 0 {
		b = append(b, `,"mentions":[`...)
		for i, u := range m.Mentions {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, string(u))
		}
		b = append(b, ']')
	}
	b = appendField(b, "emoji", m.Emoji)
	if m.Remove {
		b = append(b, `,"remove":true`...)
	}
	if m.Topic != nil {
		b = append(b, `,"topic":`...)
		b = appendString(b, *m.Topic)
	}
	if m.Name != nil {
		b = append(b, `,"name":`...)
		b = appendString(b, *m.Name)
	}
	return append(b, '}')
}

// appendUint appends ,"key":v unless v is 0 (omitempty).
func appendUint(b []byte, key string, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return strconv.AppendUint(b, v, 10)
}

// appendField appends ,"key":"v" unless v is empty (omitempty).
func appendField(b []byte, key, v string) []byte {
	if v == "" {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return appendString(b, v)
}

// appendString appends s as a JSON string, escaped as encoding/json does
// (HTML-safe, U+2028 and U+2029 escaped, invalid UTF-8 replaced).
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
