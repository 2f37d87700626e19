package httpapi

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// clientAddr is the address of the client, for sign-in throttling and security events: the peer's,
// unless the peer is one of Deps.TrustedProxies; then X-Forwarded-For is read from its end (the
// address the trusted proxy itself added) towards its start, skipping trusted proxies, and the first
// other address is the client's. Addresses further left were written by the client and are never
// believed; a header with nothing usable leaves the peer's address.
func (s *Server) clientAddr(c *fiber.Ctx) string {
	peer, ok := netip.AddrFromSlice(c.Context().RemoteIP())
	if !ok {
		return c.IP()
	}
	peer = peer.Unmap()
	if !s.trusted(peer) {
		return peer.String()
	}
	hops := strings.Split(strings.Join(c.GetReqHeaders()[fiber.HeaderXForwardedFor], ","), ",")
	for _, hop := range slices.Backward(hops) {
		a, err := netip.ParseAddr(strings.TrimSpace(hop))
		if err != nil {
			return peer.String() // a malformed hop: nothing left of it can be trusted
		}
		if a = a.Unmap(); !s.trusted(a) {
			return a.String()
		}
	}
	return peer.String()
}

func (s *Server) trusted(a netip.Addr) bool {
	return slices.ContainsFunc(s.deps.TrustedProxies, func(p netip.Prefix) bool { return p.Contains(a) })
}
