package app

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/chatterhq/sdk/amocrm"
	"github.com/chatterhq/sdk/chatter"
)

// amoCRM's fixed statuses of a closed lead.
const (
	statusWon  = 142
	statusLost = 143
)

// oauthStateTTL bounds how long the admin has on amoCRM's consent page.
const oauthStateTTL = 15 * time.Minute

// amocrmWebhook serves POST /amocrm/{workspace}/{secret}: amoCRM's
// webhooks (form-encoded). A lead that was won, lost or deleted stops
// taking the person's later messages as notes; a contact that changed has
// its link refreshed. amoCRM does not sign webhooks: the path's secret,
// random per workspace, is what authenticates them.
func (a *App) amocrmWebhook(w http.ResponseWriter, r *http.Request) {
	wsID := r.PathValue("workspace")
	ws := a.ws(wsID)
	if ws == nil {
		a.badRequest(w, r, "", http.StatusNotFound, "нет такого пространства", "no such workspace")
		return
	}
	if subtle.ConstantTimeCompare([]byte(r.PathValue("secret")), []byte(ws.webhookSecret)) != 1 {
		a.badRequest(w, r, wsID, http.StatusUnauthorized, "неверный секрет в адресе вебхука", "wrong secret in the webhook URL")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, a.cfg.HTTP.MaxBodyBytes)
	p, err := amocrm.ParseWebhook(r)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			a.badRequest(w, r, wsID, http.StatusRequestEntityTooLarge, "слишком большое тело запроса", "request body too large")
			return
		}
		a.badRequest(w, r, wsID, http.StatusBadRequest, "тело запроса не является вебхуком amoCRM", "the body is not an amoCRM webhook: "+err.Error())
		return
	}
	if err := a.applyAmoCRMEvents(r.Context(), ws, p); err != nil {
		// Nothing is lost by answering 500: amoCRM sends the webhook again.
		a.log.LogAttrs(r.Context(), slog.LevelError, "amoCRM webhook not applied",
			slog.String(chatter.AttrCategory, chatter.CategorySystem), slog.String(chatter.AttrWorkspace, wsID), slog.String("err", err.Error()))
		http.Error(w, "временная ошибка, повторите (temporary error, retry)", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// applyAmoCRMEvents updates the contact links: a closed or deleted lead is
// no longer a person's open lead; a changed contact's phone is refreshed.
func (a *App) applyAmoCRMEvents(ctx context.Context, ws *workspace, p *amocrm.WebhookPayload) error {
	for _, ev := range p.Events {
		switch {
		case ev.Entity == "leads" && (ev.Action == "delete" || ev.StatusID == statusWon || ev.StatusID == statusLost):
			links, err := a.store.ListContacts(ctx, ws.id, chatter.ContactListQuery{LeadID: int64(ev.ID)})
			if err != nil {
				return err
			}
			for _, l := range links {
				l.LeadID, l.LeadAt = 0, time.Time{}
				if err := a.store.SaveContact(ctx, l); err != nil {
					return err
				}
			}
			if len(links) > 0 {
				a.log.LogAttrs(ctx, slog.LevelInfo, "amoCRM lead closed; the person's next message opens a new lead",
					slog.String(chatter.AttrCategory, chatter.CategoryDelivery), slog.String(chatter.AttrWorkspace, ws.id),
					slog.Int("lead_id", ev.ID), slog.String("action", ev.Action), slog.Int("status_id", ev.StatusID))
			}
		case ev.Entity == "contacts" && (ev.Action == "update" || ev.Action == "delete"):
			links, err := a.store.ListContacts(ctx, ws.id, chatter.ContactListQuery{ContactID: int64(ev.ID)})
			if err != nil {
				return err
			}
			for _, l := range links {
				if ev.Action == "delete" {
					if err := a.store.DeleteContact(ctx, ws.id, l.ContactID); err != nil {
						return err
					}
					continue
				}
				if phone := webhookPhone(ev); phone != "" && phone != l.Phone {
					l.Phone = phone
					if err := a.store.SaveContact(ctx, l); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

// webhookPhone is the first phone of a contact event, in digits with a
// leading '+', or "".
func webhookPhone(ev amocrm.WebhookEvent) string {
	for _, f := range ev.CustomFields {
		if f.Code != "PHONE" {
			continue
		}
		for _, v := range f.Values {
			var b strings.Builder
			for _, r := range v.Text() {
				if r >= '0' && r <= '9' {
					b.WriteRune(r)
				}
			}
			if d := b.String(); len(d) >= 10 {
				if len(d) == 11 && d[0] == '8' {
					d = "7" + d[1:]
				}
				return "+" + d
			}
		}
	}
	return ""
}

// AmoCRMWebhookPath is the path amoCRM's webhooks for workspace ws go to
// (its secret included: show it to administrators only), or "" for an
// unknown workspace. Prefix it with the public URL.
func (a *App) AmoCRMWebhookPath(ws string) string {
	w := a.ws(ws)
	if w == nil {
		return ""
	}
	return "/amocrm/" + w.id + "/" + w.webhookSecret
}

// oauthState is what the OAuth flow remembers between the redirect to
// amoCRM and the callback.
type oauthState struct {
	Workspace string    `json:"workspace"`
	Expires   time.Time `json:"expires"`
	By        string    `json:"by,omitempty"`
}

// StartOAuth returns the URL of amoCRM's consent page for workspace ws; the
// callback (GET /amocrm/oauth/callback) completes the exchange.
func (a *App) StartOAuth(ctx context.Context, wsID, by string) (string, error) {
	ws := a.ws(wsID)
	if ws == nil {
		return "", fmt.Errorf("no workspace %q: %w", wsID, chatter.ErrNotFound)
	}
	oc := ws.cfg.AmoCRM.OAuth
	if oc.ClientID == "" {
		return "", fmt.Errorf("workspace %s has no OAuth integration configured: %w", wsID, chatter.ErrInvalid)
	}
	nonce := randomHex(16)
	if err := a.putJSON(ctx, ServerWorkspace, "server/oauth-state/"+nonce,
		oauthState{Workspace: wsID, Expires: a.now().Add(oauthStateTTL), By: by}); err != nil {
		return "", err
	}
	cfg := amocrm.OAuthConfig{ClientID: oc.ClientID, AuthURL: oc.AuthURL}
	return cfg.AuthorizationURL(nonce, amocrm.AuthModePopup), nil
}

var oauthPage = template.Must(template.New("oauth").Parse(`<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><title>amoCRM</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main><h1>{{.Title}}</h1><p>{{.Text}}</p><p><a href="/">Вернуться в Чаттер (back to Chatter)</a></p></main></body></html>`))

// oauthCallback completes amoCRM's OAuth flow: it checks the state,
// exchanges the code and stores the pair (sealed) in the store.
func (a *App) oauthCallback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	page := func(code int, title, text string) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(code)
		_ = oauthPage.Execute(w, map[string]string{"Title": title, "Text": text})
	}
	if e := q.Get("error"); e != "" {
		page(http.StatusBadRequest, "Доступ не выдан (access denied)", "amoCRM вернул отказ: "+e+". Попробуйте подключить amoCRM ещё раз.")
		return
	}
	nonce, code := q.Get("state"), q.Get("code")
	if nonce == "" || code == "" || len(nonce) > 64 {
		a.badRequest(w, r, "", http.StatusBadRequest, "нет кода или состояния", "code or state missing")
		return
	}
	key := "server/oauth-state/" + nonce
	s, err := a.store.GetSetting(r.Context(), ServerWorkspace, key)
	var st oauthState
	if err == nil {
		err = json.Unmarshal(s.Value, &st)
	}
	if err != nil || a.now().After(st.Expires) {
		page(http.StatusBadRequest, "Ссылка устарела (the link expired)",
			"Начните подключение amoCRM заново в разделе amoCRM: ссылка действует 15 минут и один раз.")
		return
	}
	// Spend the state first: a code is exchanged at most once.
	spent, _ := json.Marshal(oauthState{Workspace: st.Workspace})
	if _, err := a.store.PutSetting(r.Context(), ServerWorkspace, key, spent, s.Version); err != nil {
		page(http.StatusConflict, "Ссылка уже использована (the link was used)", "Начните подключение amoCRM заново.")
		return
	}
	ws := a.ws(st.Workspace)
	if ws == nil {
		page(http.StatusNotFound, "Пространство не найдено (no such workspace)", st.Workspace)
		return
	}
	if _, err := ws.amo.ExchangeCode(r.Context(), code); err != nil {
		a.log.LogAttrs(r.Context(), slog.LevelError, "amoCRM authorisation failed",
			slog.String(chatter.AttrCategory, chatter.CategoryAuth), slog.String(chatter.AttrWorkspace, ws.id), slog.String("err", err.Error()))
		page(http.StatusBadGateway, "amoCRM не выдал ключи (amoCRM refused)", "Проверьте client id, секрет и адрес перенаправления интеграции: "+err.Error())
		return
	}
	a.log.LogAttrs(r.Context(), slog.LevelInfo, "amoCRM authorised through OAuth",
		slog.String(chatter.AttrCategory, chatter.CategoryAuth), slog.String(chatter.AttrWorkspace, ws.id), slog.String("by", st.By))
	page(http.StatusOK, "amoCRM подключён (amoCRM connected)", "Ключи сохранены. Сделки начнут создаваться в течение минуты.")
}
