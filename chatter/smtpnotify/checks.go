package smtpnotify

import (
	"context"
	"errors"
	"net"
	"strings"

	"github.com/chatterhq/sdk/chatter"
)

// Checks returns the diagnostics for email notifications: the server is
// reachable with the configured encryption, authentication works, and the
// sender's domain publishes SPF and DKIM records (without them, mail from
// Chatter tends to land in spam).
func (n *Notifier) Checks() []chatter.Check {
	return []chatter.Check{
		chatter.CheckFunc("smtp_reachable", n.checkReachable),
		chatter.CheckFunc("smtp_auth", n.checkAuth),
		chatter.CheckFunc("smtp_sender_spf", n.checkSPF),
		chatter.CheckFunc("smtp_sender_dkim", n.checkDKIM),
	}
}

func (n *Notifier) checkReachable(ctx context.Context) chatter.CheckResult {
	res := chatter.CheckResult{Title: chatter.T("Почтовый сервер доступен", "Mail server reachable"), Status: chatter.StatusOK, Guide: chatter.GuideNotifications}
	probe := *n
	probe.cfg.Username, probe.cfg.Password = "", "" // connect and secure only
	if err := probe.dial(ctx); err != nil {
		res.Status = chatter.StatusFail
		res.Cause, res.Remedy = explain(err)
	}
	return res
}

func (n *Notifier) checkAuth(ctx context.Context) chatter.CheckResult {
	res := chatter.CheckResult{Title: chatter.T("Вход на почтовый сервер", "Mail server login"), Status: chatter.StatusOK, Guide: chatter.GuideNotifications}
	if n.cfg.Username == "" {
		res.Status = chatter.StatusSkip
		res.Cause = chatter.T("Логин SMTP не задан: сервер принимает письма без входа.", "No SMTP user name is set: the server accepts mail without login.")
		return res
	}
	if err := n.dial(ctx); err != nil {
		res.Status = chatter.StatusFail
		res.Cause, res.Remedy = explain(err)
	}
	return res
}

func explain(err error) (cause, remedy chatter.Text) {
	var e *Error
	if errors.As(err, &e) {
		cause = e.Message()
	} else {
		cause = chatter.T("Ошибка SMTP: "+err.Error(), "SMTP error: "+err.Error())
	}
	remedy = chatter.T(
		"Проверьте настройки SMTP (сервер, порт, шифрование, логин и пароль) и отправьте тестовое письмо.",
		"Check the SMTP settings (host, port, encryption, user name and password) and send a test email.")
	return cause, remedy
}

func (n *Notifier) senderDomain() string {
	_, domain, _ := strings.Cut(n.fromAddr, "@")
	return strings.ToLower(strings.TrimSuffix(domain, "."))
}

func (n *Notifier) checkSPF(ctx context.Context) chatter.CheckResult {
	domain := n.senderDomain()
	res := chatter.CheckResult{Title: chatter.T("SPF-запись домена отправителя", "Sender domain SPF record"), Status: chatter.StatusOK,
		Guide: chatter.GuideNotifications, Details: map[string]string{"domain": domain}}
	txts, err := n.cfg.Resolver.LookupTXT(ctx, domain)
	if err != nil && !isNotFound(err) {
		res.Status = chatter.StatusWarn
		res.Cause = chatter.T("Не удалось проверить DNS домена "+domain+": "+err.Error(), "Could not query DNS for "+domain+": "+err.Error())
		res.Remedy = chatter.T("Проверьте доступ сервера Chatter к DNS и повторите проверку.", "Check that the Chatter server can reach DNS and run the check again.")
		return res
	}
	for _, t := range txts {
		if strings.HasPrefix(strings.ToLower(strings.TrimSpace(t)), "v=spf1") {
			res.Details["spf"] = t
			return res
		}
	}
	res.Status = chatter.StatusWarn
	res.Cause = chatter.T("У домена "+domain+" нет SPF-записи: письма с уведомлениями могут попадать в спам.",
		"The domain "+domain+" has no SPF record: notification emails may land in spam.")
	res.Remedy = chatter.T("Добавьте в DNS домена TXT-запись вида «v=spf1 include:<ваш почтовый провайдер> ~all» (значение даёт почтовый провайдер).",
		"Add a DNS TXT record like \"v=spf1 include:<your mail provider> ~all\" to the domain (your mail provider gives the value).")
	return res
}

func (n *Notifier) checkDKIM(ctx context.Context) chatter.CheckResult {
	domain := n.senderDomain()
	res := chatter.CheckResult{Title: chatter.T("DKIM-запись домена отправителя", "Sender domain DKIM record"), Status: chatter.StatusOK,
		Guide: chatter.GuideNotifications, Details: map[string]string{"domain": domain}}
	var lookupErr error
	for _, sel := range n.cfg.DKIMSelectors {
		name := sel + "._domainkey." + domain
		txts, err := n.cfg.Resolver.LookupTXT(ctx, name)
		if err != nil {
			if !isNotFound(err) {
				lookupErr = err
			}
			if ctx.Err() != nil {
				break
			}
			continue
		}
		for _, t := range txts {
			l := strings.ToLower(strings.Join(strings.Fields(t), ""))
			if strings.Contains(l, "v=dkim1") || strings.Contains(l, "p=") {
				res.Details["selector"] = sel
				return res
			}
		}
	}
	res.Status = chatter.StatusWarn
	if lookupErr != nil {
		res.Cause = chatter.T("Не удалось проверить DKIM домена "+domain+": "+lookupErr.Error(), "Could not check DKIM for "+domain+": "+lookupErr.Error())
	} else {
		res.Cause = chatter.T("Для домена "+domain+" не найдена DKIM-запись (проверены селекторы: "+strings.Join(n.cfg.DKIMSelectors, ", ")+").",
			"No DKIM record found for "+domain+" (selectors tried: "+strings.Join(n.cfg.DKIMSelectors, ", ")+").")
	}
	res.Remedy = chatter.T("Включите DKIM-подпись у почтового провайдера и опубликуйте его TXT-запись <селектор>._domainkey."+domain+"; если селектор другой, укажите его в настройках.",
		"Turn on DKIM signing at your mail provider and publish its TXT record <selector>._domainkey."+domain+"; if the selector differs, set it in the settings.")
	return res
}

func isNotFound(err error) bool {
	var dnsErr *net.DNSError
	return errors.As(err, &dnsErr) && dnsErr.IsNotFound
}
