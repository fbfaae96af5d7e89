// Package edge is Natter's WebSocket gateway: it upgrades connections with
// gobwas/ws (zero-copy on the raw connection), authenticates them, speaks the
// JSON protocol of docs/PROTOCOL.md, and bridges rooms to the broker. It is
// the only package that imports gobwas/ws.
//
// # What the edge guarantees to a client
//
//   - A send is acked only after JetStream stored the message; the ack
//     carries the room sequence. Resending the same cid yields the same seq.
//   - In every joined room the client receives each message after its join
//     position exactly once and in sequence order, replayed ones first, then
//     live ones, with no gap at the switch. Each msg event carries prev, the
//     room sequence before it, so a client can check this for itself.
//   - A room is followed through one broker Feed per edge, whatever the
//     number of local members; each message is framed once and the same
//     bytes are queued to every member socket.
//   - Every connection has a bounded outgoing queue. When it is full the
//     connection is closed with 4009 (slow consumer): nobody else waits,
//     and the client recovers by reconnecting and resuming from its last seq.
package edge
