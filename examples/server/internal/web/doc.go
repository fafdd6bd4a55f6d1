// Package web is the reference server's admin UI: server-rendered
// html/template pages embedded with embed.FS, plain forms that work
// without JavaScript, and one small script for what is better live (the
// keyboard layout indicator of password fields; later, live updates). No
// JS build, no CDN. Russian first, English on a switch stored per user.
//
// New(a, cfg) returns the handler the app mounts under its machine
// endpoints (app.Options.Handler). Users, sessions, lockouts and reset
// links are package auth's (a.Auth()); this package maps its typed errors
// to pages (auth.Message for the login page, auth.Problems for the
// messages next to form fields) and enforces who may call what.
//
// # Requests
//
// Every request goes through, in order:
//
//   - headers: a Content-Security-Policy without inline scripts or styles,
//     X-Frame-Options DENY, Referrer-Policy no-referrer (reset links carry
//     their token in the URL), nosniff, and Cache-Control no-store on
//     pages (they may show a one-time password);
//   - sessions: the cookie chatter_session (HttpOnly, SameSite=Lax, Secure
//     when the public URL is https, the request came over TLS or a trusted
//     proxy says X-Forwarded-Proto: https) is looked up in the store on
//     every request (auth.LookupSession), so blocking a user or ending a
//     session works on every instance at once; a dead cookie is cleared;
//   - crossOrigin: http.CrossOriginProtection refuses a state-changing
//     request a browser sent from another site (Sec-Fetch-Site, else
//     Origin against Host; the public URL's origin is trusted, for proxies
//     that rewrite Host) with the 403 page and an event. A real browser's
//     form post from our own page passes. It wraps the whole mux, so no
//     POST route can forget it;
//   - setupGate: while no administrator exists every page redirects to the
//     first-run page /setup;
//   - the route's own wrapper: signedIn (else to /login?next=…), adminOnly
//     (a manager gets the 403 page).
//
// A login always creates a new session (rotation) and ends the browser's
// previous one. The client's address for the event log and the lockout
// counters honours http.trusted_proxies (X-Forwarded-For from a trusted
// peer only).
//
// # Pages
//
// Sign-in: /login (login name or e-mail and password; wrong credentials,
// locked until HH:MM, blocked, access ended, and a hint when the password
// had Cyrillic letters), /logout, /password/change (forced or expired
// password, through the auth ticket kept in the form, never in a URL),
// /forgot and /reset (a single-use link mailed through Config.Mailer; the
// same answer and timing whether or not the address exists; at most
// Config.ResetsPerAddress requests per client address and hour on each
// instance), /setup (the first administrator). Sections: Обзор (the state
// of every workspace and 24 hours of traffic), Источники (bots, parser
// accounts with the login wizard and proxies, chats, keyword rules with a
// dry run), amoCRM (long-lived token or OAuth, webhooks, a probe),
// Сопоставление полей (the YAML editor with line-numbered errors, preview
// and a test lead), Уведомления, Журнал доставки (filters, "Почему не в
// CRM?", replay one or every dead message, live updates over SSE),
// Администрирование → Логи (filters, CSV and JSON Lines export, live),
// Диагностика (every check of the support guide, the support bundle),
// Профиль (language, password, one's sessions), Пользователи (administrators: the list with each
// account's state; create with a generated one-time password shown once;
// block, unblock, unlock, access end date, force a password change, reset
// the password, role and workspaces, delete; destructive actions need a
// confirmation checkbox).
//
// Roles: administrators see everything; managers the sections of their
// workspaces. Pages showing a workspace's data check canAccess(r, ws) and
// list visibleWorkspaces(r).
//
// # Adding a page
//
// A page is one handler file and one template:
//
//  1. templates/thing.html starts with its layout, {{template "app" .}}
//     (signed-in pages, with the navigation bar) or {{template "public" .}},
//     and defines "title" and "content". Texts come from the catalogs:
//     {{.T "thing.key"}}, {{.N "thing.count" 3}} for plural forms,
//     {{.Text x}} for a chatter.Text; dates with .Date, .Time, .DateTime.
//     Inputs: {{template "field" .F "name" "text" "label.key" "required"}}
//     renders the label, the input, its hint and its error (with
//     aria-describedby); write other controls by hand with a label[for].
//  2. thing.go holds the handler: v := s.newView(r); v.Data = …;
//     s.render(w, r, http.StatusOK, "thing", v). A form handler parses the
//     form into newForm(r.PostForm), records problems with f.failKey or
//     f.addProblems(err, nil) (the service's field errors), re-renders with
//     422 when !f.ok(), and on success leaves s.flashKey(r, "info", key)
//     and redirects (303) to a GET page. Passwords are never put back into
//     a form (f.dropSecrets).
//  3. One line in routes.go, wrapped in signedIn or adminOnly; a section
//     of the bar is an entry in nav.go.
//  4. Keys in i18n/<section>.ru.json and .en.json (the tests check that both
//     catalogs have the same keys and that every key used exists).
//
// The tests (package web) drive the real server of package apptest with
// a cookie jar and goquery; TestEveryPageIsAccessible walks every page
// and form state in both languages and checks labels, ids, the language,
// and that nothing needs an inline script. Add a new page to everyPage.
package web
