// Package history owns Natter's message archive and the HTTP API that reads
// it.
//
// The archive is a SQLite file (modernc.org/sqlite, pure Go, no cgo) holding
// every record of every room's stream keyed by (room, stream sequence), the
// epoch of the stream it was copied from, and the projection of those
// records: each message's current text, edits, deletion, reactions, thread
// summary and mentions, the rooms' topics, and a full-text index (FTS5,
// trigram) of the current texts, all kept in the transaction that stores a
// record. Its schema is versioned (migrate.go). The HTTP API (chi) serves
// the rooms list with unread and mention counts, paginated room history and
// threads, single messages with their edit history, and search, to
// authenticated members.
//
// This is the only package of the project that imports SQLite or registers
// the history routes; everything else reaches the archive through *Store or
// through the http.Handler returned by NewHandler.
package history
