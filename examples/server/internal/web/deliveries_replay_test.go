package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/examples/server/internal/apptest"
)

// TestReplayOne: a manager replays a dead message of their workspace once
// the cause is gone: it is delivered, and the event log says who replayed
// it. A message that is not dead or failed, one not in the ledger and one
// of another workspace are refused.
func TestReplayOne(t *testing.T) {
	f := startLedger(t)
	mDead, _ := f.dead(t, "Нужен ремонт")
	mDelivered, _ := f.delivered(t, "И ещё ремонт")
	b := f.browser(t)
	b.signedIn("ivan", goodPassword)

	back := ledgerURL("ws", apptest.Workspace, "class", "permanent")
	p := b.get(back)
	require.Equal(t, keys(mDead), ledgerRows(p))
	p = b.submit(p, `form[action="`+ledgerEntryURL(apptest.Workspace, mDead.Key)+`/replay"]`, nil)
	require.Equal(t, http.StatusOK, p.status, p.main())
	require.Equal(t, back, p.url.RequestURI(), "back to the filtered ledger")
	require.Equal(t, "Сообщение "+mDead.Key.String()+" поставлено в очередь на повторную отправку.", p.alert())
	// The replayed message keeps its class until delivered: still listed.
	require.Equal(t, keys(mDead), ledgerRows(p))
	e := f.entry(t, mDead, chatter.StateDelivered)
	require.NotZero(t, e.Result.LeadID)

	ev := f.wsEvents(t, apptest.Workspace, "message replayed from the admin UI")
	require.Len(t, ev, 1)
	require.Equal(t, mDead.Key.String(), ev[0].MessageKey)
	require.Equal(t, "ivan", ev[0].Attrs["by"])
	require.Equal(t, f.getByLogin(t, "ivan").ID, ev[0].Attrs["by_id"])
	require.Equal(t, "127.0.0.1", ev[0].Attrs["addr"])
	// The message's path shows it.
	p = b.get(ledgerEntryURL(apptest.Workspace, mDead.Key))
	require.Contains(t, p.doc.Find("#entry-events").Text(), "message replayed from the admin UI")
	require.Contains(t, p.doc.Find("#entry-events").Text(), "by=ivan")

	// Not dead: refused, with the reason.
	p = b.post(ledgerEntryURL(apptest.Workspace, mDelivered.Key)+"/replay", url.Values{"back": {"/deliveries"}})
	require.Equal(t, http.StatusOK, p.status)
	require.Equal(t, "Сообщение "+mDelivered.Key.String()+" не отправлено повторно: его состояние — delivered, а повторить можно только недоставленное или ожидающее повтора.", p.alert())
	// Without a page to go back to: the message's page.
	p = b.post(ledgerEntryURL(apptest.Workspace, mDelivered.Key)+"/replay", nil)
	require.Equal(t, ledgerEntryURL(apptest.Workspace, mDelivered.Key), p.url.Path)
	// A back that is not a local page is ignored.
	p = b.post(ledgerEntryURL(apptest.Workspace, mDelivered.Key)+"/replay", url.Values{"back": {"https://evil.example/"}})
	require.Equal(t, ledgerEntryURL(apptest.Workspace, mDelivered.Key), p.url.Path)

	missing := mDead.Key
	missing.MessageID = 424242
	require.Equal(t, http.StatusNotFound, b.post(ledgerEntryURL(apptest.Workspace, missing)+"/replay", nil).status)
	require.Equal(t, http.StatusNotFound, b.post("/deliveries/"+apptest.Workspace+"/garbage/replay", nil).status)
	require.Equal(t, http.StatusForbidden, b.post(ledgerEntryURL(otherWorkspace, mDead.Key)+"/replay", nil).status)
	// From another site: refused before anything happens.
	b.origin = "https://evil.example"
	require.Equal(t, http.StatusForbidden, b.post(ledgerEntryURL(apptest.Workspace, mDead.Key)+"/replay", nil).status)
}

// TestReplayAllDead: the dead messages of the current filter are replayed
// after the confirmation, and only those; the filter must allow dead ones.
func TestReplayAllDead(t *testing.T) {
	f := startLedger(t)
	d1, _ := f.dead(t, "ремонт первый")
	d2, _ := f.dead(t, "ремонт второй")
	d3, _ := f.dead(t, "окна")
	b := f.browser(t)
	b.signedIn("admin", goodPassword)

	filtered := ledgerURL("ws", apptest.Workspace, "q", "ремонт")
	p := b.get(filtered)
	require.Equal(t, keys(d2, d1), ledgerRows(p))
	require.Equal(t, "Да, отправить повторно 2 недоставленных сообщения этого фильтра", strings.TrimSpace(p.doc.Find(`label[for="replay_confirm"]`).Text()))

	// Without the confirmation: nothing happens.
	p = b.submit(p, "#replay-all", nil)
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Equal(t, "Подтвердите действие: поставьте отметку.", p.fieldError("replay_confirm"))
	require.Equal(t, keys(d2, d1), ledgerRows(p), "the ledger of the same filter")
	for _, m := range []*chatter.Message{d1, d2, d3} {
		require.Equal(t, chatter.StateDead, f.entry(t, m, chatter.StateDead).State)
	}
	// A filter of other states: refused.
	p = b.post("/deliveries/replay-dead", url.Values{"ws": {apptest.Workspace}, "state": {"delivered"}, "replay_confirm": {"yes"}})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Equal(t, "Повторить все можно только для недоставленных: выберите состояние «не доставлено» или любое.", p.fieldError("state"))
	// A bad filter: its field's error.
	p = b.post("/deliveries/replay-dead", url.Values{"ws": {apptest.Workspace}, "class": {"nonsense"}, "replay_confirm": {"yes"}})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Equal(t, "Нет такого класса ошибки.", p.fieldError("class"))
	// Another workspace of a manager: 403.
	mb := f.browser(t)
	mb.signedIn("ivan", goodPassword)
	require.Equal(t, http.StatusForbidden, mb.post("/deliveries/replay-dead", url.Values{"ws": {otherWorkspace}, "replay_confirm": {"yes"}}).status)

	p = b.get(filtered)
	p = b.submit(p, "#replay-all", map[string]string{"replay_confirm": "yes"})
	require.Equal(t, http.StatusOK, p.status, p.main())
	require.Equal(t, filtered, p.url.RequestURI())
	require.Equal(t, "Поставлено в очередь на повторную отправку: 2.", p.alert())
	f.entry(t, d1, chatter.StateDelivered)
	f.entry(t, d2, chatter.StateDelivered)
	require.Equal(t, chatter.StateDead, f.entry(t, d3, chatter.StateDead).State, "outside the filter")

	ev := f.wsEvents(t, apptest.Workspace, "dead messages replayed from the admin UI")
	require.Len(t, ev, 1)
	want := map[string]string{"count": "2", "filter_text": "ремонт", "by": "admin", "by_id": f.getByLogin(t, "admin").ID, "addr": "127.0.0.1"}
	if d := cmp.Diff(want, ev[0].Attrs); d != "" {
		t.Errorf("the event's attributes (-want +got):\n%s", d)
	}
	// Nothing dead left in the filter: no bulk replay form.
	p = b.get(filtered)
	require.Equal(t, 0, p.doc.Find("#replay-all").Length())
}
