package tgparse

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/proxy"

	"github.com/chatterhq/sdk/chatter"
)

// guideBlocked and guideNotFound are the support guide's problems the
// checks implement (ids of chatter.GuideProblems).
const (
	guideBlocked  = chatter.GuideAccountBlocked   // «Аккаунт заблокирован»
	guideNotFound = chatter.GuideMessagesNotFound // «Не находятся сообщения в чате»
)

// Checks returns the diagnostics of the source: per account its state and
// its proxy, per chat its accessibility and, for "messages not found", the
// numbers that explain it (messages read and scanned, matches per rule,
// depth reached, last checkpoint). They read the Source's state (and dial
// proxies); run them while or after the Source runs.
func (s *Source) Checks() []chatter.Check {
	var out []chatter.Check
	for _, id := range s.order {
		out = append(out, chatter.CheckFunc("tgparse.account."+id, func(ctx context.Context) chatter.CheckResult {
			return s.accountCheck(id)
		}))
		if s.accounts[id].acct.Proxy != "" {
			acct := s.accounts[id].acct
			out = append(out, ProxyCheck(acct, s.cfg.Endpoint))
		}
	}
	for i := range s.chats {
		ref := s.chats[i].cfg.Ref
		out = append(out, chatter.CheckFunc("tgparse.chat."+ref, func(ctx context.Context) chatter.CheckResult {
			return s.chatCheck(i)
		}))
		out = append(out, chatter.CheckFunc("tgparse.messages."+ref, func(ctx context.Context) chatter.CheckResult {
			return s.messagesCheck(i)
		}))
	}
	return out
}

func (s *Source) accountCheck(id string) chatter.CheckResult {
	s.mu.Lock()
	st := s.accounts[id].state
	s.mu.Unlock()
	r := chatter.CheckResult{
		Title:   chatter.T("Аккаунт Telegram "+id, "Telegram account "+id),
		Details: map[string]string{"status": string(st.Status), "chats": strconv.Itoa(st.Chats)},
		Guide:   guideBlocked,
	}
	if !st.Until.IsZero() {
		r.Details["until"] = st.Until.Format(time.RFC3339)
	}
	switch st.Status {
	case StatusActive:
		r.Status = chatter.StatusOK
		return r
	case StatusStopped, StatusStarting:
		r.Status = chatter.StatusSkip
		r.Cause = chatter.T("парсер не запущен или подключается", "the parser is not running or is connecting")
		return r
	case StatusFloodWait, StatusPeerFlood, StatusFailing, StatusProxyFailing, StatusSessionInUse:
		r.Status = chatter.StatusWarn
	default:
		r.Status = chatter.StatusFail
	}
	r.Cause, r.Remedy = st.Cause(), st.Remedy()
	if st.Status == StatusFloodWait && !st.Until.IsZero() {
		r.Cause = chatter.T(r.Cause.RU+" до "+st.Until.Format("15:04:05 02.01.2006"), r.Cause.EN+" until "+st.Until.Format(time.RFC3339))
	}
	return r
}

func (s *Source) chatCheck(i int) chatter.CheckResult {
	s.mu.Lock()
	c := s.chats[i]
	st := c.state
	s.mu.Unlock()
	r := chatter.CheckResult{
		Title:   chatter.T("Доступ к чату "+st.Ref, "Access to chat "+st.Ref),
		Details: map[string]string{"status": string(st.Status)},
		Guide:   guideNotFound,
	}
	if st.ChatID != 0 {
		r.Details["chat_id"] = strconv.FormatInt(st.ChatID, 10)
	}
	if st.Account != "" {
		r.Details["account"] = st.Account
	}
	switch {
	case st.Status == ChatActive:
		r.Status = chatter.StatusOK
	case st.Err == nil && !st.LastPassAt.IsZero():
		r.Status = chatter.StatusOK
		r.Cause = chatter.T("чат читался без ошибок, последний раз "+st.LastPassAt.Format("02.01.2006 15:04"),
			"the chat was read without errors, last at "+st.LastPassAt.Format(time.RFC3339))
	case st.Err != nil:
		r.Status = chatter.StatusFail
		if st.Status != ChatFailed {
			r.Status = chatter.StatusWarn
		}
		r.Cause, r.Remedy = errorTexts(st.Err)
	default:
		r.Status = chatter.StatusSkip
		r.Cause = chatter.T("чат ещё не читается: нет свободного аккаунта или парсер не запущен", "the chat is not read yet: no free account, or the parser is not running")
	}
	return r
}

// errorTexts returns the cause and remedy of err.
func errorTexts(err error) (cause, remedy chatter.Text) {
	var e *Error
	if errors.As(err, &e) {
		cause, remedy = e.Message(), e.Remedy()
		if p := LinkProblem(err); !p.IsZero() {
			cause = chatter.T(cause.RU+": "+p.RU, cause.EN+": "+p.EN)
		}
		return cause, remedy
	}
	return chatter.T("ошибка: "+err.Error(), "error: "+err.Error()),
		chatter.T("Повторите позже; если ошибка повторяется, проверьте журнал событий.", "Retry later; if it persists, check the event log.")
}

// messagesCheck explains "no messages found" with numbers.
func (s *Source) messagesCheck(i int) chatter.CheckResult {
	s.mu.Lock()
	c := s.chats[i]
	st := c.state
	depth := c.depth
	rules := make([]string, 0, len(st.Rules))
	for name, rs := range st.Rules {
		rules = append(rules, fmt.Sprintf("%s: %d/%d", name, rs.Matched, rs.Stopped))
	}
	s.mu.Unlock()
	slices.Sort(rules)
	r := chatter.CheckResult{
		Title: chatter.T("Сообщения в чате "+st.Ref, "Messages in chat "+st.Ref),
		Guide: guideNotFound,
		Details: map[string]string{
			"fetched": strconv.FormatInt(st.Fetched, 10), "scanned": strconv.FormatInt(st.Scanned, 10),
			"accepted": strconv.FormatInt(st.Accepted, 10), "depth_count": strconv.Itoa(depth.Count),
		},
	}
	if len(rules) > 0 {
		r.Details["rules_matched_stopped"] = strings.Join(rules, "; ")
	}
	if !depth.Since.IsZero() {
		r.Details["depth_since"] = depth.Since.Format(time.RFC3339)
	}
	if !st.OldestAt.IsZero() {
		r.Details["oldest_read"] = st.OldestAt.Format(time.RFC3339)
	}
	if st.Checkpoint != 0 {
		r.Details["checkpoint"] = strconv.FormatInt(st.Checkpoint, 10)
		r.Details["checkpoint_at"] = st.CheckpointAt.Format(time.RFC3339)
	}
	if st.CatchingUp {
		r.Details["catching_up"] = "true"
	}
	oldest, cp := "—", "—"
	if !st.OldestAt.IsZero() {
		oldest = st.OldestAt.Format("02.01.2006 15:04")
	}
	if !st.CheckpointAt.IsZero() {
		cp = st.CheckpointAt.Format("02.01.2006 15:04")
	}
	switch {
	case st.Status != ChatActive && st.LastPassAt.IsZero():
		r.Status = chatter.StatusSkip
		r.Cause = chatter.T("чат ещё не читался (см. проверку доступа к чату)", "the chat has not been read yet (see the chat access check)")
		r.Remedy = chatter.T("Проверьте доступ к чату: аккаунт должен состоять в нём.", "Check access to the chat: the account must be a member.")
	case st.Fetched == 0 && depth.IsZero():
		r.Status = chatter.StatusWarn
		r.Cause = chatter.T("глубина парсинга не задана: история не загружается, читаются только новые сообщения (последняя отметка "+cp+")",
			"no parsing depth is set: no history is read, only new messages (last checkpoint "+cp+")")
		r.Remedy = chatter.T("Увеличьте глубину поиска: задайте число сообщений или период.", "Increase the depth: set a message count or a period.")
	case st.Fetched == 0:
		r.Status = chatter.StatusWarn
		r.Cause = chatter.T("в чате нет сообщений в пределах глубины парсинга (последняя отметка "+cp+")",
			"the chat has no messages within the parsing depth (last checkpoint "+cp+")")
		r.Remedy = chatter.T("Увеличьте глубину поиска: больше сообщений или более ранняя дата.", "Increase the depth: more messages or an earlier date.")
	case st.Accepted == 0:
		r.Status = chatter.StatusWarn
		r.Cause = chatter.T(fmt.Sprintf("просмотрено %d сообщений (до %s), ни одно не подошло под ключевые слова; последняя отметка %s", st.Scanned, oldest, cp),
			fmt.Sprintf("%d messages scanned (back to %s), none matched the keywords; last checkpoint %s", st.Scanned, oldest, cp))
		r.Remedy = chatter.T("Проверьте ключевые слова: фильтры не слишком строгие, используйте более общие слова; или увеличьте глубину поиска.",
			"Check the keywords: make the filters less strict, use more general words; or increase the depth.")
	default:
		r.Status = chatter.StatusOK
		r.Cause = chatter.T(fmt.Sprintf("просмотрено %d, подошло %d (до %s)", st.Scanned, st.Accepted, oldest),
			fmt.Sprintf("%d scanned, %d matched (back to %s)", st.Scanned, st.Accepted, oldest))
	}
	return r
}

// ProxyCheck returns a check that the account's proxy accepts a connection
// to Telegram (for SOCKS5: the handshake and CONNECT to the first DC; for
// MTProxy: a TCP connection to the proxy). It never shows the proxy's
// password or secret.
func ProxyCheck(acct Account, ep *Endpoint) chatter.Check {
	return chatter.CheckFunc("tgparse.proxy."+acct.ID, func(ctx context.Context) chatter.CheckResult {
		r := chatter.CheckResult{Title: chatter.T("Прокси аккаунта "+acct.ID, "Proxy of account "+acct.ID), Guide: guideBlocked}
		if acct.Proxy == "" {
			r.Status = chatter.StatusSkip
			r.Cause = chatter.T("прокси не задан", "no proxy is set")
			return r
		}
		p, err := ParseProxy(acct.Proxy)
		if err != nil {
			r.Status = chatter.StatusFail
			r.Cause, r.Remedy = errorTexts(err)
			return r
		}
		r.Details = map[string]string{"proxy": p.Redacted()}
		if err := dialProxy(ctx, p, dcAddr(ep)); err != nil {
			r.Status = chatter.StatusFail
			r.Cause = chatter.T("прокси недоступен: "+err.Error(), "the proxy does not work: "+err.Error())
			r.Remedy = describe(KindProxy).remedy
			return r
		}
		r.Status = chatter.StatusOK
		return r
	})
}

// dcAddr is the address a proxy check connects to.
func dcAddr(ep *Endpoint) string {
	if ep != nil {
		for _, o := range ep.DCList.Options {
			if o.ID == ep.DC || ep.DC == 0 {
				return net.JoinHostPort(o.IPAddress, strconv.Itoa(o.Port))
			}
		}
	}
	return "149.154.167.50:443" // DC 2
}

func dialProxy(ctx context.Context, p Proxy, target string) error {
	var base net.Dialer
	switch p.Kind {
	case ProxySOCKS5:
		var auth *proxy.Auth
		if p.User != "" || p.Password != "" {
			auth = &proxy.Auth{User: p.User, Password: p.Password}
		}
		d, err := proxy.SOCKS5("tcp", p.Addr, auth, &base)
		if err != nil {
			return err
		}
		conn, err := d.(proxy.ContextDialer).DialContext(ctx, "tcp", target)
		if err != nil {
			return err
		}
		return conn.Close()
	default:
		conn, err := base.DialContext(ctx, "tcp", p.Addr)
		if err != nil {
			return err
		}
		return conn.Close()
	}
}
