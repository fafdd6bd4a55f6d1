package web

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/examples/server/internal/app"
	"github.com/chatterhq/sdk/examples/server/internal/config"
	"github.com/chatterhq/sdk/tgparse"
)

// chatIndex is the place of the chat ref in the parser's chats, or -1.
func (ws *sourceWS) chatIndex(ref string) int {
	return slices.IndexFunc(ws.Config.Parser.Chats, func(c config.ParserChat) bool { return c.Chat == ref })
}

func (ws *sourceWS) ChatsURL() string { return ws.Base() + "/chats" }

func (ws *sourceWS) ChatURL(ref string) string {
	return ws.Base() + "/chat?" + url.Values{"ref": {ref}}.Encode()
}

// srcScopeChat is the path of chat i in its workspace's problems.
func srcScopeChat(i int) string { return "parser.chats[" + strconv.Itoa(i) + "]" }

// srcChatRow is a parsed chat: its settings, and what the running parser
// knows of it (resolved, the account reading it, the checkpoint, the
// rules' counts) with the diagnostics that explain "no messages found".
type srcChatRow struct {
	Ref   string
	URL   string
	Depth config.Depth
	// Inherits is set when the chat has no depth of its own (the
	// parser's default applies).
	Inherits bool
	Join     bool
	State    *tgparse.ChatState
	Kind     string // badge kind of the state
	Label    string
	Access   *srcCheck
	Messages *srcCheck
	Rules    []srcRuleStat
}

type srcRuleStat struct {
	Rule             string
	Matched, Stopped int64
}

// srcChatRows describes the workspace's chats; with checks, each gets its
// access and messages diagnostics (they read the parser's state only).
func (s *server) srcChatRows(ctx context.Context, v *view, ws *sourceWS, checks bool) []srcChatRow {
	snap := ws.snapshot()
	var cs []chatter.Check
	if checks && ws.RT != nil && ws.RT.Parser != nil {
		cs = ws.RT.Parser.Source.Checks()
	}
	var out []srcChatRow
	for _, c := range ws.Config.Parser.Chats {
		row := srcChatRow{Ref: c.Chat, URL: ws.ChatURL(c.Chat), Depth: c.Depth, Inherits: c.Depth.IsZero(), Join: c.Join}
		if row.Inherits {
			row.Depth = ws.Config.Parser.Depth
		}
		if snap == nil {
			row.Kind, row.Label = "info", v.T("sources.parser.off")
			out = append(out, row)
			continue
		}
		if i := slices.IndexFunc(snap.Chats, func(st tgparse.ChatState) bool { return st.Ref == c.Chat }); i >= 0 {
			st := snap.Chats[i]
			row.State = &st
			row.Kind = map[tgparse.ChatStatus]string{tgparse.ChatActive: "ok", tgparse.ChatPending: "info",
				tgparse.ChatRetrying: "warn", tgparse.ChatFailed: "error"}[st.Status]
			row.Label = v.T("sources.chat.state." + string(st.Status))
			for name, rs := range st.Rules {
				row.Rules = append(row.Rules, srcRuleStat{Rule: name, Matched: rs.Matched, Stopped: rs.Stopped})
			}
			sort.Slice(row.Rules, func(i, j int) bool { return row.Rules[i].Rule < row.Rules[j].Rule })
		} else {
			row.Kind, row.Label = "info", v.T("sources.chat.state.unknown")
		}
		for _, ch := range cs {
			switch ch.Name() {
			case "tgparse.chat." + c.Chat:
				r := srcCheckOf(ch.Run(ctx))
				row.Access = &r
			case "tgparse.messages." + c.Chat:
				r := srcCheckOf(ch.Run(ctx))
				row.Messages = &r
			}
		}
		out = append(out, row)
	}
	return out
}

// srcChatsPage is the page of the parsed chats and the parser's settings.
type srcChatsPage struct {
	sourceFormPage
	Parser    badge
	ParserErr string
	Chats     []srcChatRow
	Accounts  int
	// Restart offers to restart the parser (it failed: every account
	// stopped).
	Restart bool
}

// renderSourceChats renders the chats page, re-read after an action.
func (s *server) renderSourceChats(w http.ResponseWriter, r *http.Request, status int, ws *sourceWS, f *form, other []chatter.Text) {
	if fresh, ok := s.app.WorkspaceConfig(ws.ID); ok {
		ws.Config = srcCloneWorkspace(fresh)
		ws.RT, _ = s.app.Runtime(ws.ID)
	}
	v := s.newView(r)
	v.Path = ws.ChatsURL()
	if f != nil {
		v.Form = f
	}
	p := ws.Config.Parser
	for k, val := range map[string]string{"poll_interval": srcDuration(p.PollInterval.D()), "depth_count": srcCountText(p.Depth.Count),
		"depth_since": p.Depth.Since, "max_chats": strconv.Itoa(p.MaxChatsPerAccount)} {
		if !v.Form.Values.Has(k) {
			v.Form.Values.Set(k, val)
		}
	}
	page := &srcChatsPage{sourceFormPage: sourceFormPage{WS: ws, Problems: other}, Accounts: len(p.Accounts)}
	page.Parser, page.ParserErr = s.srcParserBadge(v, ws)
	page.Restart = page.ParserErr != ""
	page.Chats = s.srcChatRows(r.Context(), v, ws, true)
	v.Data = page
	s.render(w, r, status, "sources_chats", v)
}

// srcParserBadge is the parser srcComponent's state and its last error.
func (s *server) srcParserBadge(v *view, ws *sourceWS) (badge, string) {
	if ws.RT == nil || ws.RT.Parser == nil {
		return badge{"info", v.T("sources.parser.off")}, ""
	}
	c := s.srcComponent(ws.RT.Parser.Component)
	if c != nil && c.State == app.StateFailed {
		return srcComponentBadge(v, c), c.LastError
	}
	return srcComponentBadge(v, c), ""
}

// srcCountText is a depth's count for a form ("" for none).
func srcCountText(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// srcReadDepth reads a depth from the fields count and since of f, recording
// a malformed count on the count field.
func (s *server) srcReadDepth(f *form, countField, sinceField string) config.Depth {
	var d config.Depth
	if raw := strings.TrimSpace(f.Values.Get(countField)); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil {
			f.failKey(s.i18n, countField, "sources.chat.bad_count")
		}
		d.Count = n
	}
	d.Since = strings.TrimSpace(f.Values.Get(sinceField))
	return d
}

// srcDuration writes d as people type it: 1m, 90s, 1h30m (not 1m0s).
func srcDuration(d time.Duration) string {
	out := d.String()
	if strings.HasSuffix(out, "m0s") {
		out = strings.TrimSuffix(out, "0s")
	}
	if strings.HasSuffix(out, "h0m") {
		out = strings.TrimSuffix(out, "0m")
	}
	return out
}
