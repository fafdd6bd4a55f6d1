package webhooknotify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/chatterhq/sdk/chatter"
)

// The address guard: unless Config.AllowPrivate is set, a Notifier connects
// only to public addresses, so that a webhook URL typed by a workspace
// admin cannot make the server call its own loopback services, the private
// network or a cloud metadata endpoint (SSRF). The check runs in the
// dialer's Control function on the address actually dialled, after name
// resolution, so a name that resolves (or is rebound) to an inner address
// is refused all the same.

// nonPublic are the networks refused besides what netip's predicates
// (loopback, private, link-local, multicast, unspecified) already say.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),      // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),  // CGNAT (Alibaba Cloud's metadata is 100.100.100.200)
	netip.MustParsePrefix("192.0.0.0/24"),   // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"),  // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),    // reserved, and the broadcast address
	netip.MustParsePrefix("fec0::/10"),      // deprecated site-local
	netip.MustParsePrefix("64:ff9b:1::/48"), // local-use NAT64
}

// Metadata services: 169.254.169.254 (AWS, GCP, Azure, OpenStack...) is
// link-local, AWS's fd00:ec2::254 is in fc00::/7, Alibaba's 100.100.100.200
// is in CGNAT: all refused above.

var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// Public reports whether the guard lets a Notifier connect to ip: false for
// loopback, private (RFC 1918, fc00::/7), link-local (169.254.0.0/16, where
// cloud metadata services answer, and fe80::/10), unspecified, multicast,
// CGNAT (100.64.0.0/10) and other reserved addresses, also when written as
// IPv4-mapped IPv6 or behind the NAT64 prefix.
func Public(ip netip.Addr) bool {
	ip = ip.Unmap()
	if nat64.Contains(ip) {
		b := ip.As16()
		ip = netip.AddrFrom4([4]byte(b[12:]))
	}
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// AddressError is the refusal of the address guard: the webhook's host is
// (or resolved to) an address that is not public. It is permanent: retrying
// does not help.
type AddressError struct {
	Addr netip.Addr // the refused address
}

func (e *AddressError) Error() string {
	return fmt.Sprintf("webhooknotify: address %s is not public (loopback, private, link-local or reserved): refused; allow it with Config.AllowPrivate or Config.Allow", e.Addr)
}

// Message explains the refusal to an operator.
func (e *AddressError) Message() chatter.Text {
	return chatter.T(
		fmt.Sprintf("Адрес %s — внутренний (локальный, частной сети, link-local или зарезервированный): Chatter не отправляет туда уведомления, чтобы адрес вебхука нельзя было направить на внутренние службы сервера. Укажите внешний адрес получателя; если получатель действительно во внутренней сети, администратор сервера может разрешить такие адреса в его настройках.", e.Addr),
		fmt.Sprintf("Address %s is internal (loopback, private, link-local or reserved): Chatter does not send notifications there, so that a webhook URL cannot be pointed at the server's internal services. Give the receiver's public address; if the receiver really is on an internal network, the server's administrator can allow such addresses in its settings.", e.Addr))
}

// ErrorClass reports the refusal as permanent.
func (e *AddressError) ErrorClass() chatter.ErrorClass { return chatter.ClassPermanent }

// guard decides which dialled addresses pass.
type guard struct {
	nets  []netip.Prefix  // allowed although not public
	hosts map[string]bool // host names dialled without the check
}

// parseAllow reads Config.Allow: CIDR networks, single addresses, host names.
func parseAllow(entries []string) (*guard, error) {
	g := &guard{hosts: map[string]bool{}}
	for _, raw := range entries {
		s := strings.TrimSpace(raw)
		if p, err := netip.ParsePrefix(s); err == nil {
			g.nets = append(g.nets, p.Masked())
			continue
		}
		if a, err := netip.ParseAddr(s); err == nil {
			g.nets = append(g.nets, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		if !validHost(s) {
			return nil, configErr("Config.Allow", fmt.Sprintf("%q — не сеть CIDR, не IP-адрес и не имя хоста", raw),
				fmt.Sprintf("%q is neither a CIDR network, an IP address nor a host name", raw), nil)
		}
		g.hosts[strings.ToLower(strings.TrimSuffix(s, "."))] = true
	}
	return g, nil
}

func validHost(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_') {
			return false
		}
	}
	return true
}

// allows reports whether ip may be dialled.
func (g *guard) allows(ip netip.Addr) bool {
	ip = ip.Unmap()
	if Public(ip) {
		return true
	}
	for _, p := range g.nets {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// control is the net.Dialer Control function: it sees every address the
// dialer tries, after resolution.
func (g *guard) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("webhooknotify: dial %q: not an IP address and port", address)
	}
	if !g.allows(ap.Addr()) {
		return &AddressError{Addr: ap.Addr().Unmap()}
	}
	return nil
}

// transport returns an http.Transport like base (nil: http.DefaultTransport)
// whose connections pass g. A proxy would resolve and dial the host itself,
// out of the guard's sight, so the guarded transport never uses one.
func (g *guard) transport(base http.RoundTripper) (*http.Transport, error) {
	var tr *http.Transport
	switch t := base.(type) {
	case nil:
		def, ok := http.DefaultTransport.(*http.Transport)
		if !ok {
			return nil, configErr("HTTPClient.Transport", "http.DefaultTransport заменён: защита адресов не может им управлять",
				"http.DefaultTransport was replaced: the address guard cannot control it", nil)
		}
		tr = def.Clone()
	case *http.Transport:
		//lint:ignore SA1019 the deprecated Dial hooks would bypass the guard too
		if t.DialContext != nil || t.DialTLSContext != nil || t.Dial != nil || t.DialTLS != nil {
			return nil, configErr("HTTPClient.Transport",
				"у транспорта свой Dial: защита адресов не может проверить соединения; уберите его или включите AllowPrivate",
				"the transport has its own Dial hooks, which the address guard cannot check: remove them or set AllowPrivate", nil)
		}
		tr = t.Clone()
	default:
		return nil, configErr("HTTPClient.Transport",
			fmt.Sprintf("%T — не *http.Transport: защита адресов не может проверить соединения; используйте *http.Transport или включите AllowPrivate", base),
			fmt.Sprintf("%T is not an *http.Transport, so the address guard cannot check its connections: use an *http.Transport or set AllowPrivate", base), nil)
	}
	tr.Proxy = nil
	checked := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: g.control}
	plain := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if len(g.hosts) > 0 {
			if host, _, err := net.SplitHostPort(addr); err == nil && g.hosts[strings.ToLower(strings.TrimSuffix(host, "."))] {
				return plain.DialContext(ctx, network, addr)
			}
		}
		return checked.DialContext(ctx, network, addr)
	}
	return tr, nil
}

// defaultGuarded is the guarded transport of the Notifiers with neither an
// HTTPClient nor an allow-list, shared so that they share one connection
// pool (the server builds a Notifier per test send).
var defaultGuarded = sync.OnceValues(func() (*http.Transport, error) {
	return (&guard{}).transport(nil)
})

// isAddressError reports a refusal of the guard anywhere in err's chain.
func isAddressError(err error) bool {
	var ae *AddressError
	return errors.As(err, &ae)
}
