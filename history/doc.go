// Package history owns Natter's message archive and the HTTP API that reads
// it.
//
// The archive is a SQLite file (modernc.org/sqlite, pure Go, no cgo) holding
// every archived message keyed by (room, stream sequence), plus the epoch of
// the stream it was copied from. The HTTP API (chi) serves the rooms list with
// unread counts and paginated room history to authenticated members.
//
// This is the only package of the project that imports SQLite or registers
// the history routes; everything else reaches the archive through *Store or
// through the http.Handler returned by NewHandler.
package history
