package web

import (
	"net/url"
	"testing"
)

// notifDiagPages hands the states of Обзор, Диагностика and Уведомления to
// everyPage's check: b is an administrator's browser, mb a manager's (of
// the demo workspace), both in the language under test. The settings it
// saves stay for the next language (the second run shows the stored
// routes, masked secrets and the sender domain's checks).
func notifDiagPages(t *testing.T, check func(t *testing.T, name string, p *page), b, mb *browser) {
	t.Helper()
	check(t, "overview of a manager", mb.get("/"))
	check(t, "diagnostics group run", b.post("/diagnostics/run", url.Values{"group": {"amocrm-auth"}}))
	check(t, "diagnostics bad group", b.post("/diagnostics/run", url.Values{"group": {"nope"}}))
	const n = "/notifications/demo/"
	check(t, "notifications smtp with errors", b.post(n+"smtp", url.Values{"smtp_host": {"smtp.example.com:25"}, "smtp_port": {"x"}}))
	check(t, "notifications smtp with config problems", b.post(n+"smtp", url.Values{"smtp_host": {"smtp.example.com:25"}, "smtp_from": {"x"}}))
	check(t, "notifications smtp saved", b.post(n+"smtp", url.Values{"smtp_host": {"127.0.0.1"}, "smtp_port": {"9"}, "smtp_tls": {"none"},
		"smtp_from": {"chatter@example.invalid"}}))
	check(t, "notifications email with errors", b.post(n+"email", url.Values{"email_on": {"new_lead", "source_up"}, "email_to_source_up": {"x@"}}))
	check(t, "notifications email with config problems", b.post(n+"email", url.Values{"email_on": {"source_up"}, "email_to_source_up": {"x@"}}))
	check(t, "notifications email saved", b.post(n+"email", url.Values{"email_on": {"new_lead"}, "email_to_new_lead": {"sales@example.com"}}))
	check(t, "notifications test mail failed", b.post(n+"smtp/send", nil))
	check(t, "notifications telegram with errors", b.post(n+"telegram", url.Values{"tg_count": {"1"}, "tg_0_chat": {"abc"}, "tg_0_bot": {"demo-bot"}}))
	check(t, "notifications telegram with config problems", b.post(n+"telegram", url.Values{"tg_count": {"1"}, "tg_0_chat": {"12345"},
		"tg_0_bot": {"ghost"}, "tg_0_lang": {"ru"}, "tg_0_events": {"new_lead"}}))
	check(t, "notifications telegram saved", b.post(n+"telegram", url.Values{"tg_count": {"1"}, "tg_0_chat": {"12345"},
		"tg_0_bot": {"demo-bot"}, "tg_0_lang": {"ru"}, "tg_0_events": {"new_lead"}}))
	check(t, "notifications telegram test failed", b.post(n+"telegram/send", url.Values{"index": {"0"}}))
	check(t, "notifications webhooks with errors", b.post(n+"webhooks", url.Values{"wh_count": {"1"}, "wh_0_url": {"ftp://x"}, "wh_0_events": {"new_lead"}}))
	check(t, "notifications webhooks saved", b.post(n+"webhooks", url.Values{"wh_count": {"1"}, "wh_0_url": {"http://127.0.0.1:9/hook?token=t0ken-1234"},
		"wh_0_secret": {"signing-secret-0123456789"}, "wh_0_events": {"new_lead", "delivery_failed"}}))
	check(t, "notifications webhook test failed", b.post(n+"webhooks/send", url.Values{"index": {"0"}}))
	check(t, "notifications unknown workspace", b.get("/notifications?ws=nope"))
}
