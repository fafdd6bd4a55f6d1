package app

import (
	"crypto/subtle"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/examples/server/internal/metrics"
)

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Flush lets Server-Sent Events through the wrapper.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// proxies decides which peers may set X-Forwarded-For.
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
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
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

// trusted reports whether r's peer is a trusted proxy.
func (ps proxies) trusted(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	return err == nil && ps.contains(peer)
}

// https reports whether the client reached us over https: TLS here, or a
// trusted proxy's X-Forwarded-Proto (its first value).
func (ps proxies) https(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	if !ps.trusted(r) {
		return false
	}
	proto, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Proto"), ",")
	return strings.EqualFold(strings.TrimSpace(proto), "https")
}

// clientIP is the address of the client: the peer, or, when the peer is a
// trusted proxy, the right-most address of X-Forwarded-For that is not a
// trusted proxy itself.
func (ps proxies) clientIP(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	peer = peer.Unmap()
	if !ps.contains(peer) {
		return peer
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		a = a.Unmap()
		if !ps.contains(a) {
			return a
		}
	}
	return peer
}

// accessLog logs every request with its route pattern instead of the path
// (paths of webhook routes carry secrets) and feeds the HTTP metrics. The
// query string is never logged.
func accessLog(next http.Handler, log *slog.Logger, m *metrics.Metrics, ps proxies) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		d := time.Since(start)
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		code := sw.status
		if code == 0 {
			code = http.StatusOK
		}
		if m != nil {
			m.ObserveHTTP(route, code, d)
		}
		level := slog.LevelDebug
		if code >= 500 {
			level = slog.LevelWarn
		}
		log.LogAttrs(r.Context(), level, "http request",
			slog.String(chatter.AttrCategory, chatter.CategorySystem),
			slog.String("method", r.Method), slog.String("route", route), slog.Int("status", code),
			slog.Duration("duration", d), slog.Int64("bytes", sw.bytes),
			slog.String("remote_addr", ps.clientIP(r).String()))
	})
}

// recoverer answers 500 when a handler panics, and logs it.
func recoverer(next http.Handler, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				log.LogAttrs(r.Context(), slog.LevelError, "http handler panicked",
					slog.String(chatter.AttrCategory, chatter.CategorySystem), slog.String("route", r.Pattern), slog.Any("panic", p))
				http.Error(w, "internal error", http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// guard protects /metrics and the diagnostics API: a request passes when it
// comes from an allowed network, or carries the configured basic auth. With
// neither configured, only loopback passes.
type guard struct {
	nets       proxies
	user, pass string
	ps         proxies
}

func (g guard) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.allowed(r) {
			next.ServeHTTP(w, r)
			return
		}
		if g.user != "" {
			w.Header().Set("WWW-Authenticate", `Basic realm="chatter", charset="UTF-8"`)
		}
		http.Error(w, "доступ запрещён (forbidden)", http.StatusUnauthorized)
	})
}

func (g guard) allowed(r *http.Request) bool {
	ip := g.ps.clientIP(r)
	if len(g.nets) > 0 && g.nets.contains(ip) {
		return true
	}
	if g.user != "" {
		u, p, ok := r.BasicAuth()
		return ok && subtle.ConstantTimeCompare([]byte(u), []byte(g.user)) == 1 &&
			subtle.ConstantTimeCompare([]byte(p), []byte(g.pass)) == 1
	}
	return len(g.nets) == 0 && ip.IsLoopback()
}
