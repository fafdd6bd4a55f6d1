package web

import (
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/chatterhq/sdk/examples/server/internal/config"
)

// notificationsEmailSave stores who gets e-mail of each event type: for
// each type, on or off (email_on) and its recipients (email_to_<type>).
// Types with the same recipients share one route; when every type is on
// with the same recipients, one route without events sends them every
// event, also the types added later.
func (s *server) notificationsEmailSave(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "error.bad_request")
		return
	}
	ws, ok := s.notifWorkspace(w, r, r.PathValue("ws"))
	if !ok {
		return
	}
	f := newForm(r.PostForm)
	on := f.Values["email_on"]
	type group struct {
		to     []string
		events []string
	}
	var groups []*group
	byKey := map[string]*group{}
	for _, t := range notifTypes() {
		to := notifAddresses(f.Values.Get("email_to_" + t))
		if !slices.Contains(on, t) {
			continue
		}
		if len(to) == 0 {
			f.failKey(s.i18n, "email_to_"+t, "notifications.email.need_to")
			continue
		}
		sorted := slices.Clone(to)
		slices.Sort(sorted)
		key := strings.Join(sorted, "\n")
		g := byKey[key]
		if g == nil {
			g = &group{to: to}
			byKey[key] = g
			groups = append(groups, g)
		}
		g.events = append(g.events, t)
	}
	if !f.ok() {
		s.notifRender(w, r, http.StatusUnprocessableEntity, ws, f, notifSecEmail, nil)
		return
	}
	var routes []config.EmailRoute
	for _, g := range groups {
		routes = append(routes, config.EmailRoute{To: g.to, Events: g.events})
	}
	if len(routes) == 1 && len(routes[0].Events) == len(notifTypes()) {
		routes[0].Events = nil
	}
	ws.Config.Notifications.Email = routes
	other, saved, err := s.notifSave(r, ws, f, func(rest string) string {
		i, _, ok := notifIndexed(rest, "email")
		if !ok || i >= len(routes) {
			return ""
		}
		if rest == "email["+strconv.Itoa(i)+"]" {
			return "" // no SMTP server: said at the top of the form
		}
		return "email_to_" + notifEvents(routes[i].Events)[0]
	})
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if !saved {
		// A problem of a route shared by several types is shown at each.
		for field, t := range maps.Clone(f.Problems) {
			for _, rt := range routes {
				if slices.Contains(notifEvents(rt.Events), strings.TrimPrefix(field, "email_to_")) {
					for _, e := range notifEvents(rt.Events) {
						f.fail("email_to_"+e, t)
					}
				}
			}
		}
		s.notifRender(w, r, http.StatusUnprocessableEntity, ws, f, notifSecEmail, other)
		return
	}
	s.notifEvent(r, slog.LevelInfo, ws.ID, "notification settings changed", slog.String("section", "email"),
		slog.Int("routes", len(routes)), slog.Int("recipients", len(notifRecipients(ws.Config.Notifications))))
	s.flashKey(r, "info", "notifications.saved")
	redirect(w, r, ws.page("email"))
}
