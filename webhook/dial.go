package webhook

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"
)

// publicOnly refuses to connect to an address that is not a public unicast
// one: loopback, private (RFC 1918, fc00::/7), link-local (cloud metadata
// at 169.254.169.254), CGNAT, unspecified and multicast. It runs on the
// address actually dialled, after DNS, so a name that resolves (or later
// re-resolves) to an internal address is refused too.
func publicOnly(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("webhook: refusing to dial %q: %w", address, err)
	}
	if !public(ap.Addr()) {
		return fmt.Errorf("webhook: refusing to dial %s: not a public address (allow it with --webhook-allow-private)", ap.Addr())
	}
	return nil
}

var cgnat = netip.MustParsePrefix("100.64.0.0/10")

func public(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsGlobalUnicast() && !a.IsPrivate() && !a.IsLoopback() && !a.IsLinkLocalUnicast() && !cgnat.Contains(a)
}

// dialer returns the dialer of deliveries: public addresses only unless
// allowPrivate.
func dialer(allowPrivate bool) func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{Timeout: 5 * time.Second}
	if !allowPrivate {
		d.Control = publicOnly
	}
	return d.DialContext
}
