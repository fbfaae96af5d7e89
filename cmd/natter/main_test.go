package main

import (
	"testing"

	"go.uber.org/goleak"
)

// Every test stops its servers and clients: no goroutine may outlive them
// (connection readers and writers, feeds, replays, the archive, NATS).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// The HTTP client's idle keep-alive connections are pooled process-wide.
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
	)
}
