package broker

import "github.com/natter-chat/natter"

// Subject layout. Room ids are validated (natter.RoomID.Validate) before they
// reach any of these, so a room id is always exactly one subject token.
const (
	StreamName    = "ROOMS"
	roomPrefix    = "natter.room."
	roomWildcard  = "natter.room.*"
	liveTemplate  = "natter.live.{{wildcard(1)}}.m"
	livePrefix    = "natter.live."
	msgSuffix     = ".m"
	eventSuffix   = ".e"
	dirBucket     = "natter-dir"
	cursorsBucket = "natter-cursors"
)

func roomSubject(r natter.RoomID) string  { return roomPrefix + string(r) }
func liveSubject(r natter.RoomID) string  { return livePrefix + string(r) + ".*" }
func eventSubject(r natter.RoomID) string { return livePrefix + string(r) + eventSuffix }

// roomFromSubject returns the room token of natter.room.<room>.
func roomFromSubject(s string) natter.RoomID {
	if len(s) <= len(roomPrefix) {
		return ""
	}
	return natter.RoomID(s[len(roomPrefix):])
}
