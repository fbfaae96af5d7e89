// Package natter holds the domain types that every part of Natter speaks:
// room and user identifiers, messages, positions in a room's stream and the
// error codes shared by the WebSocket protocol and the HTTP API.
//
// It imports nothing but the standard library, so that broker/, edge/ and
// history/ can depend on it without depending on each other.
package natter

// Version is set at build time with -ldflags "-X github.com/natter-chat/natter.Version=…".
var Version = "dev"
