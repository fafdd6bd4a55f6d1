package web

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// proxies are the trusted reverse proxies of http.trusted_proxies: only
// they may set X-Forwarded-For and X-Forwarded-Proto. The rule is the app's
// access log's (see app's middleware.go); when the app exports its own
// ClientIP this file goes.
type proxies []netip.Prefix

func parseProxies(cidrs []string) (proxies, error) {
	var out proxies
	for _, c := range cidrs {
		c = strings.TrimSpace(c)
		if c == "" {
			continue
		}
		if !strings.Contains(c, "/") {
			a, err := netip.ParseAddr(c)
			if err != nil {
				return nil, err
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func (ps proxies) contains(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func peerAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

// clientIP is the client's address: the peer, or, when the peer is a
// trusted proxy, the right-most address of X-Forwarded-For that is not a
// trusted proxy itself.
func (ps proxies) clientIP(r *http.Request) netip.Addr {
	peer := peerAddr(r)
	if !peer.IsValid() || !ps.contains(peer) {
		return peer
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		if a = a.Unmap(); !ps.contains(a) {
			return a
		}
	}
	return peer
}

// https reports whether the browser reached us over HTTPS: TLS here, or a
// trusted proxy's X-Forwarded-Proto.
func (ps proxies) https(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	if !ps.contains(peerAddr(r)) {
		return false
	}
	proto, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Proto"), ",")
	return strings.EqualFold(strings.TrimSpace(proto), "https")
}

// clientAddr is the client's address as text for the event log and the
// auth service ("" when unknown).
func (s *server) clientAddr(r *http.Request) string {
	a := s.ips.clientIP(r)
	if !a.IsValid() {
		return ""
	}
	return a.String()
}
