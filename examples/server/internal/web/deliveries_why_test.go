package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/examples/server/internal/apptest"
)

// steps are the explanation's steps: title, then its lines.
func steps(p *page) [][]string {
	var out [][]string
	p.doc.Find("#entry-steps li").Each(func(_ int, li *goquery.Selection) {
		var step []string
		li.Find("p").Each(func(_ int, l *goquery.Selection) { step = append(step, strings.TrimSpace(l.Text())) })
		out = append(out, step)
	})
	return out
}

// TestWhyNotInCRM: the page of a message explains its path in each state:
// the filter's rule and reason, why it was rejected, the lead it became,
// after which error it went dead (the class's cause and remedy, the retry
// budget), and the event log lines carrying its key.
func TestWhyNotInCRM(t *testing.T) {
	f := startLedger(t)
	mDelivered, eDelivered := f.delivered(t, "Нужна бригада на ремонт")
	mDead, eDead := f.dead(t, "Сколько стоит окно?")
	mFiltered := f.accept(t, groupMessage(apptest.Workspace, "Продам гараж"))
	bad := f.accept(t, botMessage(apptest.Workspace, "битый \xff"))
	b := f.browser(t)
	b.signedIn("ivan", goodPassword)
	when := func(e *chatter.LedgerEntry) string { return e.UpdatedAt.UTC().Format("02.01.2006 15:04") }

	p := b.get(ledgerEntryURL(apptest.Workspace, mDead.Key))
	require.Equal(t, http.StatusOK, p.status, p.main())
	require.Equal(t, "Почему не в CRM?", p.h1())
	st := steps(p)
	require.Len(t, st, 3, "%q", st)
	require.Equal(t, []string{"Фильтр пропустил сообщение.", "Решение фильтра: сообщение написано боту (правила применяются к парсингу)"}, st[1])
	require.Equal(t, "Не доставлено: попытки прекращены после ошибки «CRM отклонила сообщение» "+when(eDead)+".", st[2][0])
	require.Contains(t, st[2], "Сделана 1 попытка.")
	require.Contains(t, st[2], "Причина: CRM отклонила сообщение (permanent).")
	require.Contains(t, st[2], "Текст ошибки: "+eDead.LastError)
	require.Contains(t, st[2], "Повторы идут 24 часа с момента получения (или повторной отправки); время ожидания по требованию amoCRM не считается.")
	require.Contains(t, st[2], "Устраните причину и отправьте сообщение повторно.")
	require.Equal(t, 1, p.doc.Find("#entry-replay").Length())
	// Its event log lines: the dead delivery, with the key.
	f.wsEvents(t, apptest.Workspace, "delivery dead")
	p = b.get(ledgerEntryURL(apptest.Workspace, mDead.Key))
	require.Contains(t, p.doc.Find("#entry-events").Text(), "delivery dead")
	require.Contains(t, p.doc.Find("#entry-events").Text(), "delivery dead (permanent)")

	p = b.get(ledgerEntryURL(apptest.Workspace, mDelivered.Key))
	require.Equal(t, "Путь сообщения", p.h1())
	st = steps(p)
	require.Equal(t, fmt.Sprintf("Создана сделка №%d.", eDelivered.Result.LeadID), st[2][1])
	require.Equal(t, fmt.Sprintf("Контакт №%d.", eDelivered.Result.ContactID), st[2][2])
	require.Equal(t, fmt.Sprintf("%s/leads/detail/%d", f.h.Env.AmoCRMURL, eDelivered.Result.LeadID), p.doc.Find("#entry-facts a.lead").AttrOr("href", ""))
	require.Equal(t, 0, p.doc.Find("#entry-replay").Length())
	require.Equal(t, "Нужна бригада на ремонт", strings.TrimSpace(p.doc.Find("blockquote.message-text").Text()))

	p = b.get(ledgerEntryURL(apptest.Workspace, mFiltered.Key))
	st = steps(p)
	require.Len(t, st, 2)
	require.Equal(t, []string{"Отфильтровано: в CRM не отправляется.", "Правило: -вакансия -вакансии -резюме -продам -реклама",
		"Совпало: продам", "Решение фильтра: найдено стоп-слово"}, st[1])
	require.Contains(t, p.doc.Find("#entry-facts").Text(), mFiltered.Link)

	p = b.get(ledgerEntryURL(apptest.Workspace, bad.Key))
	st = steps(p)
	require.Len(t, st, 2)
	require.Equal(t, []string{"Отклонено при приёме: сообщение некорректно.", "text: текст не в кодировке UTF-8",
		"Такое сообщение не отправляется в CRM и повторить его нельзя.", chatter.ClassInvalid.Remedy().RU}, st[1])

	// In English too.
	b.post("/lang", url.Values{"lang": {"en"}, "next": {"/"}})
	p = b.get(ledgerEntryURL(apptest.Workspace, mDead.Key))
	require.Equal(t, "Why not in the CRM?", p.h1())
	require.Contains(t, steps(p)[2], "Cause: the CRM rejected the message (permanent).")

	// Errors: a key that does not parse, one not in the ledger, another
	// workspace of a manager.
	require.Equal(t, http.StatusNotFound, b.get("/deliveries/"+apptest.Workspace+"/not-a-key").status)
	missing := mDead.Key
	missing.MessageID = 999999
	require.Equal(t, http.StatusNotFound, b.get(ledgerEntryURL(apptest.Workspace, missing)).status)
	p = b.get(ledgerEntryURL(otherWorkspace, mDead.Key))
	require.Equal(t, http.StatusForbidden, p.status)
	require.Equal(t, "You have no access to this workspace.", p.doc.Find("#error-text").Text())
}
