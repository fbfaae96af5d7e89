package broker

import (
	"testing"

	"github.com/nats-io/nats-server/v2/server"
)

// The top-level nats.conf is a valid node configuration of a 3-node
// JetStream cluster once its environment is set.
func TestNATSConfValid(t *testing.T) {
	t.Setenv("NATS_NAME", "n1")
	t.Setenv("NATS_ROUTE_1", "nats://n1:6222")
	t.Setenv("NATS_ROUTE_2", "nats://n2:6222")
	t.Setenv("NATS_ROUTE_3", "nats://n3:6222")
	opts, err := server.ProcessConfigFile("../nats.conf")
	if err != nil {
		t.Fatalf("nats.conf: %v", err)
	}
	if !opts.JetStream || opts.ServerName != "n1" || opts.Cluster.Name != "natter" || len(opts.Routes) != 3 {
		t.Fatalf("nats.conf: jetstream %v name %q cluster %q routes %v", opts.JetStream, opts.ServerName, opts.Cluster.Name, opts.Routes)
	}
}
