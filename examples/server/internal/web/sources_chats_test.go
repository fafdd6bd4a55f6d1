package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/examples/server/internal/config"
	"github.com/chatterhq/sdk/tgparse"
)

func TestSourcesChats(t *testing.T) {
	f, b := srcAdmin(t, fixtureOpts{})
	chats := sourcesWS + "/chats"
	p := b.get(chats)
	require.Equal(t, http.StatusOK, p.status, p.main())
	require.Contains(t, p.main(), "Нет аккаунта")
	require.Equal(t, "1m", p.doc.Find("#poll_interval").AttrOr("value", ""))

	// Without an account the configuration refuses chats: the problem is
	// listed at the top.
	p = b.post(chats, url.Values{"chat": {"@somewhere"}})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Contains(t, p.alert(), "parser.accounts: чаты для парсинга заданы, а аккаунтов нет")

	acct := f.h.Env.ParserAccount
	srcAddAccount(t, b, acct.ID, acct.Phone, acct.APIID, acct.APIHash)
	cases := []struct {
		name   string
		vals   url.Values
		errors map[string]string
	}{
		{"empty", url.Values{}, map[string]string{"chat": "Укажите чат."}},
		{"bad link", url.Values{"chat": {"https://example.com/x"}}, nil},
		{"bad count", url.Values{"chat": {"@remont"}, "count": {"много"}}, map[string]string{"count": "Число сообщений — целое число."}},
		{"negative count", url.Values{"chat": {"@remont"}, "count": {"-5"}}, map[string]string{"count": "число сообщений не может быть отрицательным"}},
		{"bad since", url.Values{"chat": {"@remont"}, "since": {"вчера"}},
			map[string]string{"since": `"вчера": нужна дата (2025-01-31), время RFC 3339 или длительность назад (720h, 30d)`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := b.post(chats, c.vals)
			require.Equal(t, http.StatusUnprocessableEntity, p.status, p.main())
			if c.errors == nil {
				require.Contains(t, p.fieldError("chat"), `"https://example.com/x"`)
				return
			}
			if diff := cmp.Diff(c.errors, p.errors()); diff != "" {
				t.Errorf("field errors (-want +got):\n%s", diff)
			}
		})
	}
	g := f.h.Env.Groups[0]
	p = b.post(chats, url.Values{"chat": {g.Ref}, "since": {"30d"}, "count": {"200"}, "join": {"1"}})
	require.Equal(t, http.StatusOK, p.status, p.main())
	if diff := cmp.Diff([]config.ParserChat{{Chat: g.Ref, Depth: config.Depth{Count: 200, Since: "30d"}, Join: true}}, f.srcConfig(t).Parser.Chats); diff != "" {
		t.Errorf("chats (-want +got):\n%s", diff)
	}
	p = b.post(chats, url.Values{"chat": {g.Ref}})
	require.Equal(t, "Этот чат уже отслеживается.", p.fieldError("chat"))
	row := p.doc.Find(fmt.Sprintf(`#chats tr[data-chat=%q]`, g.Ref))
	require.Contains(t, row.Text(), "200 сообщений, не старше 30d")

	// The parser's settings: the poll interval, the default depth.
	for vals, want := range map[string]map[string]string{
		"abc":   {"poll_interval": "Нужна длительность: 30s, 1m, 5m."},
		"0s":    {"poll_interval": "Интервал — не меньше 1s."},
		"500ms": {"poll_interval": "не меньше 1s"},
	} {
		p = b.post(sourcesWS+"/parser", url.Values{"poll_interval": {vals}, "max_chats": {"50"}})
		require.Equal(t, http.StatusUnprocessableEntity, p.status, vals)
		if diff := cmp.Diff(want, p.errors()); diff != "" {
			t.Errorf("%s (-want +got):\n%s", vals, diff)
		}
	}
	p = b.post(sourcesWS+"/parser", url.Values{"poll_interval": {"5m"}, "max_chats": {"20"}, "depth_count": {"x"}})
	if diff := cmp.Diff(map[string]string{"depth_count": "Число сообщений — целое число."}, p.errors()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	p = b.post(sourcesWS+"/parser", url.Values{"poll_interval": {"5m"}, "max_chats": {"0"}})
	require.Equal(t, "Не меньше одного чата.", p.fieldError("max_chats"))
	p = b.post(sourcesWS+"/parser", url.Values{"poll_interval": {"5m"}, "max_chats": {"20"}, "depth_count": {"500"}})
	require.Equal(t, http.StatusOK, p.status, p.main())
	require.Contains(t, p.alert(), "Настройки парсера сохранены.")
	pc := f.srcConfig(t).Parser
	require.Equal(t, 5*time.Minute, pc.PollInterval.D())
	require.Equal(t, 20, pc.MaxChatsPerAccount)
	require.Equal(t, 500, pc.Depth.Count)
	require.Equal(t, "5m", p.doc.Find("#poll_interval").AttrOr("value", ""))
	ev := f.srcEvents(t, "parser settings changed")[0]
	require.Equal(t, "5m", ev.Attrs["poll_interval"])

	// The chat's page: its state and diagnostics, its depth, removal.
	p = b.get(sourcesWS + "/chat?ref=" + url.QueryEscape(g.Ref))
	require.Equal(t, http.StatusOK, p.status, p.main())
	require.Equal(t, "ждёт аккаунт", p.srcText("#chat-state"), "the account is not signed in")
	require.Contains(t, p.srcText("#access"), "чат ещё не читается")
	require.Contains(t, p.srcText("#messages"), "чат ещё не читался")
	require.Equal(t, "200", p.doc.Find("#count").AttrOr("value", ""))
	_, joins := p.doc.Find("#join").Attr("checked")
	require.True(t, joins)
	p = b.post(sourcesWS+"/chat/update", url.Values{"ref": {g.Ref}, "since": {"когда-то"}})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Contains(t, p.fieldError("since"), `"когда-то"`)
	p = b.post(sourcesWS+"/chat/update", url.Values{"ref": {g.Ref}})
	require.Equal(t, http.StatusOK, p.status, p.main())
	require.Contains(t, p.alert(), "Настройки чата "+g.Ref+" сохранены.")
	require.Contains(t, p.srcText("dl.facts"), "500 сообщений (по умолчанию парсера)")
	require.Equal(t, config.ParserChat{Chat: g.Ref}, f.srcConfig(t).Parser.Chats[0])
	p = b.post(sourcesWS+"/chat/update", url.Values{"ref": {"@nothere"}})
	require.Equal(t, http.StatusNotFound, p.status)

	p = b.post(sourcesWS+"/chat/remove", url.Values{"ref": {g.Ref}})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Equal(t, "Подтвердите действие: поставьте отметку.", p.fieldError("remove_confirm"))
	p = b.post(sourcesWS+"/chat/remove", url.Values{"ref": {g.Ref}, "remove_confirm": {"yes"}})
	require.Equal(t, http.StatusOK, p.status, p.main())
	require.Contains(t, p.alert(), "Чат "+g.Ref+" больше не отслеживается.")
	require.Empty(t, f.srcConfig(t).Parser.Chats)
	f.srcEvents(t, "parser chat removed")
}

// TestSourcesChatState: a signed-in account reads the chat: its page shows
// the account, the checkpoint and what the filter made of it.
func TestSourcesChatState(t *testing.T) {
	f, b := srcAdmin(t, fixtureOpts{})
	srcAddDemoParser(t, f, b)
	acct := f.h.Env.ParserAccount
	srcCodeSent(t, b, acct.ID)
	p := b.post(sourcesWS+"/accounts/"+acct.ID+"/login/code", url.Values{"code": {f.h.Env.LoginCode(acct.Phone)}})
	require.Equal(t, http.StatusOK, p.status, p.main())
	p = b.submit(p, "form#restart", nil)
	require.Equal(t, http.StatusOK, p.status, p.main())
	f.srcAccountStatus(t, acct.ID, tgparse.StatusActive)
	g := f.h.Env.Groups[0]
	srcEventually(t, "the chat is read", func() bool {
		p = b.get(sourcesWS + "/chat?ref=" + url.QueryEscape(g.Ref))
		return p.srcText("#chat-state") == "читается" && p.doc.Find("#messages .src-result").Length() == 1 &&
			!strings.Contains(p.srcText("dl.facts"), "ещё не найден")
	})
	require.Contains(t, p.srcText("dl.facts"), g.Title)
	require.Contains(t, p.srcText("dl.facts"), acct.ID)
	p = b.get(sourcesWS + "/chats")
	require.Contains(t, p.srcText("#chats"), "читается")
	require.Contains(t, p.srcText("#parser-state"), "работает")
}
