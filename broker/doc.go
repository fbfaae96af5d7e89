// Package broker is everything of Natter that talks to NATS and JetStream:
// the embedded server, the ROOMS stream, the KV buckets, publishing, live
// room feeds with gap repair, replay from a position, and the archive feed.
// It is the only package that imports nats.
//
// # The delivery contract
//
// Every chat message is one message in the JetStream stream ROOMS, on the
// subject natter.room.<room>. The stream sequence is the message's position:
// strictly increasing within a room, shared by all rooms (so not contiguous
// per room). Each message also carries Prev, the previous sequence on its
// room subject, so that any reader can tell a gap from the natural holes left
// by other rooms.
//
// Publish: a message is acknowledged to its sender only after JetStream has
// stored it (R1 embedded, R3 in a cluster: a quorum has it on disk). The
// Nats-Msg-Id is <user>/<room>/<client id>: within the stream's duplicate
// window a resend stores nothing and returns the original sequence. What is
// acked is therefore in the stream exactly once, and the stream is the only
// source of truth: live delivery, replay and the history archive all read it.
//
// Live: the stream republishes every stored message to natter.live.<room>.m
// with its sequence and Prev in headers. An edge holds one core subscription
// per room with local members. Core NATS may drop (slow consumer, reconnect),
// so a Feed compares each message's Prev with the last sequence it saw and
// fills any gap from the stream before delivering, and drops anything it has
// already delivered: a Feed hands its handler every room message once, in
// order. Ephemeral events (typing, presence, receipts) travel on
// natter.live.<room>.e, are never stored and may be lost.
//
// Replay: ReadRoom reads a room from a position with batched direct gets
// (no consumer is created per reader: the server caps consumers per stream).
//
// Epoch: the stream's creation time. Positions are (seq, epoch); a position
// from another epoch refers to a stream that no longer exists and must not
// be resumed from silently.
//
// Outbox (outbox.go): a durable consumer of every record for outgoing
// webhooks, one unacknowledged record at a time, acknowledged only after
// its handler succeeded: at least once, in stream order, across restarts.
//
// Directory and cursors live in KV buckets (natter-dir, natter-cursors) so
// that every node of a cluster shares them.
package broker
