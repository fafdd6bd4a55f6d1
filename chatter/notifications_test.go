package chatter

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestNewLeadNotification(t *testing.T) {
	t.Parallel()
	m := testMessage(7)
	m.Link = "https://t.me/c/100/7"
	n := NewLeadNotification(m, &DeliveryResult{LeadID: 31, ContactID: 5})
	if n.Type != NotifyNewLead || n.Workspace != "ws1" || n.Severity != SeverityInfo || n.Key != m.Key.String() {
		t.Fatalf("notification = %+v", n)
	}
	if n.Title.RU != "Новая заявка из Telegram #31" || n.Title.EN != "New lead from Telegram #31" {
		t.Errorf("title = %+v", n.Title)
	}
	if !strings.Contains(n.Body.RU, "от Иван") || !strings.Contains(n.Body.RU, "«Продажи»") || !strings.Contains(n.Body.RU, "цемента") {
		t.Errorf("body RU = %q", n.Body.RU)
	}
	if n.Fields["lead_id"] != "31" || n.Fields["contact_id"] != "5" || n.Fields["chat_id"] != "-100" || n.Link != m.Link {
		t.Errorf("fields/link = %v %q", n.Fields, n.Link)
	}
	if _, ok := n.Fields["company_id"]; ok {
		t.Error("zero company id is set")
	}
	n = NewLeadNotification(m, &DeliveryResult{LeadID: 31, Adopted: true, Extra: map[string]string{"lead_url": "https://x.amocrm.ru/leads/detail/31"}})
	if n.Link != "https://x.amocrm.ru/leads/detail/31" || !strings.Contains(n.Body.EN, "earlier attempt") {
		t.Errorf("adopted: %+v", n)
	}
	m.Text = strings.Repeat("я", 1000)
	n = NewLeadNotification(m, nil)
	if strings.Count(n.Body.RU, "я") != maxSnippetRunes || !strings.HasSuffix(n.Body.RU, "…") {
		t.Errorf("snippet not cut: %d runes", strings.Count(n.Body.RU, "я"))
	}
}

func TestStandardNotifications(t *testing.T) {
	t.Parallel()
	m := testMessage(1)
	for _, tc := range []struct {
		n       *Notification
		typ     NotificationType
		sev     Severity
		ruWords []string
	}{
		{DeliveryFailedNotification(m, 8, ClassMapping, "amocrm: field 123 not found"), NotifyDeliveryFailed, SeverityError, []string{"8", "настройках полей", "повторите отправку"}},
		{TokenExpiringNotification("ws1", "acme", time.Date(2025, 3, 2, 12, 0, 0, 0, time.UTC)), NotifyTokenExpiring, SeverityWarning, []string{"acme", "2025-03-02 12:00 UTC"}},
		{TokenExpiredNotification("ws1", "acme"), NotifyTokenExpired, SeverityError, []string{"Переподключите"}},
		{SourceDownNotification("ws1", "tgbot:123", T("неверный токен бота", "wrong bot token")), NotifySourceDown, SeverityError, []string{"tgbot:123", "неверный токен бота"}},
		{SourceUpNotification("ws1", "tgbot:123"), NotifySourceUp, SeverityInfo, []string{"снова"}},
		{RateLimitedNotification("ws1", "amocrm:acme", 90*time.Second), NotifyRateLimited, SeverityWarning, []string{"90 секунд", "очереди"}},
		{AccountBlockedNotification("ws1", "+7999", "FLOOD_WAIT"), NotifyAccountBlocked, SeverityError, []string{"+7999", "прокси"}},
		{AccountBlockedNotification("ws1", "", "amocrm: 403 blocked"), NotifyAccountBlocked, SeverityError, []string{"Аккаунт CRM", "ждут в очереди"}},
		{AuthFailedNotification("ws1", "amocrm: 401"), NotifyAuthFailed, SeverityError, []string{"Переподключите", "ждут в очереди"}},
		{RightsMissingNotification("ws1", "amocrm: 403"), NotifyRightsMissing, SeverityError, []string{"права", "ждут в очереди"}},
	} {
		n := tc.n
		if n.Type != tc.typ || n.Severity != tc.sev || n.Workspace != "ws1" {
			t.Errorf("%s: %+v", tc.typ, n)
		}
		if n.Title.RU == "" || n.Title.EN == "" || n.Body.RU == "" || n.Body.EN == "" || n.Title.RU == n.Title.EN {
			t.Errorf("%s: texts missing a language: %+v / %+v", tc.typ, n.Title, n.Body)
		}
		for _, w := range tc.ruWords {
			if !strings.Contains(n.Body.RU, w) {
				t.Errorf("%s: body %q lacks %q", tc.typ, n.Body.RU, w)
			}
		}
		if _, err := json.Marshal(n); err != nil {
			t.Errorf("%s: marshal: %v", tc.typ, err)
		}
		if tc.typ.Label().RU == string(tc.typ) {
			t.Errorf("%s has no Russian label", tc.typ)
		}
	}
	if l := NotificationType("custom").Label(); l.RU != "custom" || l.EN != "custom" {
		t.Errorf("unknown label = %+v", l)
	}
	for _, c := range []ErrorClass{ClassAuth, ClassRights, ClassMapping, ClassRateLimited, ClassBlocked, ClassPayment, ClassTransient, ClassPermanent, ClassInternal, "other"} {
		if classCause(c).RU == "" || classCause(c).EN == "" {
			t.Errorf("no cause for %q", c)
		}
	}
}

func TestCutRunes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		s    string
		n    int
		want string
	}{
		{"привет", 10, "привет"},
		{"привет", 6, "привет"},
		{"привет", 3, "при…"},
		{"ab cd", 3, "ab…"},
		{"", 0, ""},
	} {
		if got := cutRunes(tc.s, tc.n); got != tc.want {
			t.Errorf("cutRunes(%q, %d) = %q; want %q", tc.s, tc.n, got, tc.want)
		}
	}
}
