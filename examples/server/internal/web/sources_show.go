package web

import (
	"net/http"

	"github.com/chatterhq/sdk/tgbot"
	"github.com/chatterhq/sdk/tgparse"
)

// sourcesData is the section's overview: per workspace its bots, parser
// accounts, chats and keyword rules, each with its state.
type sourcesData struct {
	Workspaces []sourcesSummary
}

type sourcesSummary struct {
	WS       *sourceWS
	Bots     []srcBotRow
	Accounts []srcAccountRow
	Parser   badge
	Chats    int
	// ChatsFailing counts the chats whose last read failed.
	ChatsFailing int
	Rules        int
	ApplyTo      string
}

// srcBotRow is a bot in the overview: no call to Telegram, only what the
// server knows.
type srcBotRow struct {
	ID, Mode  string
	Disabled  bool
	Component badge
	Status    *tgbot.SourceStatus
}

type srcAccountRow struct {
	ID, Phone string
	Disabled  bool
	State     srcAccountState
}

// sourcesShow is the section's overview (GET /sources).
func (s *server) sourcesShow(w http.ResponseWriter, r *http.Request) {
	v := s.newView(r)
	var data sourcesData
	for i, wc := range s.app.Config().Workspaces {
		if !canAccess(r, wc.ID) {
			continue
		}
		rt, _ := s.app.Runtime(wc.ID)
		ws := &sourceWS{ID: wc.ID, Name: cmpOr(wc.Name, wc.ID), Index: i, Config: wc, RT: rt}
		sum := sourcesSummary{WS: ws, Rules: len(wc.Keywords.Rules), ApplyTo: wc.Keywords.ApplyTo, Chats: len(wc.Parser.Chats)}
		for _, b := range wc.Bots {
			row := srcBotRow{ID: b.ID, Mode: b.Mode, Disabled: b.Disabled}
			if br := ws.bot(b.ID); br != nil {
				row.Component = srcComponentBadge(v, s.srcComponent(br.Component))
				st := br.Source.Status()
				row.Status = &st
			} else {
				row.Component = badge{"warn", v.T("sources.bot.disabled")}
			}
			sum.Bots = append(sum.Bots, row)
		}
		var snap *tgparse.Snapshot
		if rt != nil && rt.Parser != nil {
			sn := rt.Parser.Source.Snapshot()
			snap = &sn
			sum.Parser = srcComponentBadge(v, s.srcComponent(rt.Parser.Component))
			for _, c := range sn.Chats {
				if c.Status == tgparse.ChatFailed || c.Status == tgparse.ChatRetrying {
					sum.ChatsFailing++
				}
			}
		} else {
			sum.Parser = badge{"info", v.T("sources.parser.off")}
		}
		for _, a := range wc.Parser.Accounts {
			sum.Accounts = append(sum.Accounts, srcAccountRow{ID: a.ID, Phone: tgparse.MaskPhone(a.Phone), Disabled: a.Disabled,
				State: srcAccountStateOf(v, ws, snap, a)})
		}
		data.Workspaces = append(data.Workspaces, sum)
	}
	v.Data = data
	s.render(w, r, http.StatusOK, "sources", v)
}
