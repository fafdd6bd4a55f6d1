package web

import (
	"strings"

	"github.com/chatterhq/sdk/examples/server/internal/auth"
)

// navItem is a section of the navigation bar.
type navItem struct {
	Path  string // the section's page; pages below it (Path + "/…") mark it active
	Key   string // catalog key of its name
	Admin bool   // shown to administrators only (the route checks too)
}

// navigation lists the sections in the order of the bar.
func navigation() []navItem {
	return []navItem{
		{Path: "/", Key: "nav.overview"},
		{Path: "/sources", Key: "nav.sources", Admin: true},
		{Path: "/amocrm", Key: "nav.amocrm", Admin: true},
		{Path: "/mapping", Key: "nav.mapping", Admin: true},
		{Path: "/notifications", Key: "nav.notifications", Admin: true},
		{Path: "/deliveries", Key: "nav.deliveries"},
		{Path: "/admin/logs", Key: "nav.logs"},
		{Path: "/diagnostics", Key: "nav.diagnostics", Admin: true},
		{Path: "/users", Key: "nav.users", Admin: true},
		{Path: "/profile", Key: "nav.profile"},
	}
}

// navLink is a section as the bar shows it to one user.
type navLink struct {
	Path, Key string
	Active    bool
}

// navFor is the bar for u on the page at path.
func (s *server) navFor(u *auth.User, path string) []navLink {
	var out []navLink
	for _, it := range s.nav {
		if it.Admin && !u.IsAdmin() {
			continue
		}
		active := path == it.Path || it.Path != "/" && strings.HasPrefix(path, it.Path+"/")
		out = append(out, navLink{Path: it.Path, Key: it.Key, Active: active})
	}
	return out
}
