// Package client is the Go SDK of Natter's WebSocket protocol
// (docs/PROTOCOL.md, version 2): a connection that stays up, and typed
// events. docs/CLIENT-GO.md is its guide.
//
// # What it guarantees
//
// Dial connects, authenticates with a token from a TokenSource and returns
// a Client, which from then on keeps itself connected until Close:
//
//   - A lost connection (the server restarted, closed it, or the network
//     failed) is made again after a backoff that doubles from
//     Config.MinBackoff to Config.MaxBackoff, with jitter. Each attempt
//     asks the TokenSource for a token.
//   - Every room joined with Join is resumed from the last record the
//     client delivered and its epoch (PROTOCOL.md section 7.1): the
//     records of a room reach Events exactly once each, in increasing
//     Seq, across any number of reconnects. A stream that was recreated
//     shows as a Joined with Reset.
//   - Send, Edit, Delete, React, Unreact and SetTopic carry a client id
//     (cid). Until their ack arrives they survive reconnects: after a
//     resume the client waits for the room's replay, settles any whose
//     record the replay shows, and writes the others again with the same
//     cid, so each is stored once. An unavailable or rate_limited answer
//     is retried the same way. The call returns when the ack arrives or
//     its context ends (the outcome is then unknown: call again WithCID).
//   - Every other request fails with ErrConnectionLost if its connection
//     ends before the reply; requests made while disconnected wait for
//     the next connection (bound them with their context).
//   - The token is renewed on the open connection before it expires
//     (Config.RenewBefore); if that fails, the server closes at expiry and
//     the client reconnects with a new token.
//   - Frames are paced under the server's rate limit for the connection
//     (ready.limits), which drops a frame over it without a reply.
//   - Close ends the connection and returns once every goroutine of the
//     client has ended; Events is then closed.
//
// Ephemeral events (presence, typing, receipts, membership) are not
// replayed: they may be lost around a reconnect, as the protocol says.
//
// The package depends on the standard library only; its WebSocket
// framing is in an internal package.
package client
