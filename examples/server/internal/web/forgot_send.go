package web

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/examples/server/internal/auth"
)

// forgotSend takes a "forgot password" request. Known or not, the address
// gets the same page after the same time (auth.RequestReset pads it, the
// mail goes out in the background); only a malformed address or too many
// requests from one client address are told.
func (s *server) forgotSend(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "error.bad_request")
		return
	}
	v := s.newView(r)
	f := newForm(r.PostForm)
	v.Form, v.Data = f, s.forgotData(v, false)
	if s.cfg.Mailer == nil {
		s.render(w, r, http.StatusOK, "forgot", v)
		return
	}
	email := strings.TrimSpace(f.Values.Get("email"))
	if email == "" {
		f.failKey(s.i18n, "email", "forgot.need_email")
		s.render(w, r, http.StatusUnprocessableEntity, "forgot", v)
		return
	}
	addr := s.clientAddr(r)
	if ok, retry := s.resetLimits.allow(addr, s.now()); !ok {
		v.Alert = &alert{Kind: "error", Text: v.T("forgot.too_many", v.Time(retry))}
		s.render(w, r, http.StatusTooManyRequests, "forgot", v)
		return
	}
	token, u, err := s.auth.RequestReset(r.Context(), email, addr)
	if f.addProblems(err, nil) {
		s.render(w, r, http.StatusUnprocessableEntity, "forgot", v)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if token != "" {
		s.mailReset(r, u, token)
	}
	v.Data = s.forgotData(v, true)
	s.render(w, r, http.StatusOK, "forgot", v)
}

// mailReset sends u the reset link in a goroutine of its own, so that the
// answer takes as long for a known address as for an unknown one. The
// outcome goes to the event log (never the link).
func (s *server) mailReset(r *http.Request, u *auth.User, token string) {
	addr := s.clientAddr(r)
	base, ok := s.linkBase(r)
	if !ok {
		s.log.LogAttrs(r.Context(), slog.LevelError, "password reset mail not sent: http.public_url is not set and the request's host is not this server's",
			authAttrs(u, addr, slog.String("host", clipText(r.Host, 200)))...)
		return
	}
	link := base + "/reset?token=" + url.QueryEscape(token)
	l := lang(u.Language)
	subject := s.i18n.T(l, "mail.reset.subject")
	body := s.i18n.T(l, "mail.reset.body", u.DisplayName, link, s.ttlText(l, s.auth.Config().ResetTTL), addr)
	ctx := context.WithoutCancel(r.Context())
	s.mailWG.Go(func() {
		ctx, cancel := context.WithTimeout(ctx, s.cfg.MailTimeout)
		defer cancel()
		if err := s.cfg.Mailer.Send(ctx, u.Email, subject, body); err != nil {
			msg := strings.ReplaceAll(err.Error(), token, "…")
			s.log.LogAttrs(ctx, slog.LevelError, "password reset mail not sent", authAttrs(u, addr, slog.String("err", msg))...)
			return
		}
		s.log.LogAttrs(ctx, slog.LevelInfo, "password reset mail sent", authAttrs(u, addr)...)
	})
}

// authAttrs are the attributes of the UI's own security events.
func authAttrs(u *auth.User, addr string, more ...slog.Attr) []slog.Attr {
	attrs := []slog.Attr{slog.String(chatter.AttrCategory, chatter.CategoryAuth), slog.String(chatter.AttrWorkspace, auth.ServerWorkspace)}
	if u != nil {
		attrs = append(attrs, slog.String("user", u.Login), slog.String("user_id", u.ID))
	}
	if addr != "" {
		attrs = append(attrs, slog.String("addr", addr))
	}
	return append(attrs, more...)
}

// linkBase is the scheme and host of links in e-mails: the public URL;
// without one, the request's host when it is a loopback name or address or
// the listen address (any other Host header could be forged to send the
// user a link to another site).
func (s *server) linkBase(r *http.Request) (string, bool) {
	if s.base != "" {
		return s.base, true
	}
	host := r.Host
	name := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		name = h
	}
	ok := strings.EqualFold(name, "localhost")
	if a, err := netip.ParseAddr(strings.Trim(name, "[]")); err == nil && a.IsLoopback() {
		ok = true
	}
	if listen := s.app.Config().HTTP.Addr; listen != "" && strings.EqualFold(host, listen) {
		if h, _, err := net.SplitHostPort(listen); err == nil && h != "" && h != "0.0.0.0" && h != "::" {
			ok = true
		}
	}
	if !ok {
		return "", false
	}
	scheme := "http"
	if state(r).secure {
		scheme = "https"
	}
	return scheme + "://" + host, true
}

// ttlText says how long d is: in hours when whole, else in minutes.
func (s *server) ttlText(lang string, d time.Duration) string {
	if d >= time.Hour && d%time.Hour == 0 {
		return s.i18n.N(lang, "dur.hours", int(d/time.Hour))
	}
	return s.i18n.N(lang, "dur.minutes", int((d+time.Minute-1)/time.Minute))
}
