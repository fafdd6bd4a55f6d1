package doctor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/chatterhq/sdk/chatter"
)

// Thresholds of the server-level checks.
const (
	DiskWarnBelow  = 1 << 30   // 1 GiB free in the data directory
	DiskFailBelow  = 100 << 20 // 100 MiB
	ClockWarnSkew  = 30 * time.Second
	ClockFailSkew  = 5 * time.Minute
	QueueWarnAge   = 15 * time.Minute // the oldest waiting message
	QueueFailAge   = 2 * time.Hour
	QueueWarnDepth = 1000
	DeadWindow     = 24 * time.Hour
	checkHTTPLimit = 10 * time.Second
)

// fail, warn and ok fill a result in place.
func fail(r *chatter.CheckResult, cause, remedy chatter.Text) {
	r.Status, r.Cause, r.Remedy = chatter.StatusFail, cause, remedy
}

func warn(r *chatter.CheckResult, cause, remedy chatter.Text) {
	r.Status, r.Cause, r.Remedy = chatter.StatusWarn, cause, remedy
}

// DiskSpace checks the free space of the file system holding dir.
func DiskSpace(dir string) chatter.Check {
	return chatter.CheckFunc("server.disk", func(ctx context.Context) chatter.CheckResult {
		r := chatter.CheckResult{Title: chatter.T("Место на диске для данных", "Disk space for the data"),
			Status: chatter.StatusOK, Guide: chatter.GuideSlow, Details: map[string]string{"dir": dir}}
		free, total, err := diskFree(dir)
		if errors.Is(err, errNoStatfs) {
			r.Status = chatter.StatusSkip
			return r
		}
		if err != nil {
			fail(&r, chatter.T("не удалось узнать свободное место: "+err.Error(), "cannot read the free space: "+err.Error()),
				chatter.T("Проверьте, что каталог данных существует и доступен серверу.", "Check that the data directory exists and the server can read it."))
			return r
		}
		r.Details["free_bytes"] = strconv.FormatUint(free, 10)
		r.Details["total_bytes"] = strconv.FormatUint(total, 10)
		remedy := chatter.T("Освободите место на диске или увеличьте его: при заполненном диске сообщения не сохраняются.",
			"Free or add disk space: with a full disk messages cannot be stored.")
		switch {
		case free < DiskFailBelow:
			fail(&r, chatter.T(fmt.Sprintf("свободно всего %s", bytesText(free)), fmt.Sprintf("only %s free", bytesText(free))), remedy)
		case free < DiskWarnBelow:
			warn(&r, chatter.T(fmt.Sprintf("свободно %s", bytesText(free)), fmt.Sprintf("%s free", bytesText(free))), remedy)
		}
		return r
	})
}

func bytesText(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d KiB", n>>10)
}

// ClockSkew compares the local clock with the Date header of a HEAD request
// to target (amoCRM's API host): OAuth tokens and webhook signatures rely on
// agreeing clocks.
func ClockSkew(hc *http.Client, target string, now func() time.Time) chatter.Check {
	if now == nil {
		now = time.Now
	}
	return chatter.CheckFunc("server.clock", func(ctx context.Context) chatter.CheckResult {
		r := chatter.CheckResult{Title: chatter.T("Часы сервера совпадают с amoCRM", "The server clock agrees with amoCRM"),
			Status: chatter.StatusOK, Guide: chatter.GuideAmoCRMAuth, Details: map[string]string{"target": redactURL(target)}}
		ctx, cancel := context.WithTimeout(ctx, checkHTTPLimit)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodHead, target, nil)
		if err != nil {
			fail(&r, chatter.T("неверный адрес: "+err.Error(), "bad address: "+err.Error()), chatter.T("Проверьте адрес amoCRM в настройках.", "Check the amoCRM address in the settings."))
			return r
		}
		sent := now()
		resp, err := hc.Do(req)
		if err != nil {
			warn(&r, chatter.T("amoCRM недоступен, время не сравнить: "+err.Error(), "amoCRM is unreachable, the clock cannot be compared: "+err.Error()),
				chatter.T("Проверьте сетевое подключение сервера к amoCRM.", "Check the server's network connection to amoCRM."))
			return r
		}
		resp.Body.Close()
		got := now()
		their, err := http.ParseTime(resp.Header.Get("Date"))
		if err != nil {
			r.Status = chatter.StatusSkip
			r.Cause = chatter.T("ответ без заголовка Date", "the answer has no Date header")
			return r
		}
		mid := sent.Add(got.Sub(sent) / 2)
		skew := mid.Sub(their)
		if skew < 0 {
			skew = -skew
		}
		// Date has a resolution of one second.
		skew = max(skew-time.Second, 0).Round(time.Second)
		r.Details["skew"] = skew.String()
		remedy := chatter.T("Включите синхронизацию времени (NTP, например chrony или systemd-timesyncd) на сервере.",
			"Turn on time synchronisation (NTP, e.g. chrony or systemd-timesyncd) on the server.")
		switch {
		case skew > ClockFailSkew:
			fail(&r, chatter.T("часы расходятся на "+skew.String(), "the clocks differ by "+skew.String()), remedy)
		case skew > ClockWarnSkew:
			warn(&r, chatter.T("часы расходятся на "+skew.String(), "the clocks differ by "+skew.String()), remedy)
		}
		return r
	})
}

// PublicURL checks that the server's public base URL (where Telegram and
// amoCRM send webhooks) is https and reaches this server: it fetches
// publicURL + "/healthz" and expects the instance's own answer, which
// carries instanceID.
func PublicURL(hc *http.Client, publicURL, instanceID string, webhooks bool) chatter.Check {
	return chatter.CheckFunc("server.public_url", func(ctx context.Context) chatter.CheckResult {
		r := chatter.CheckResult{Title: chatter.T("Публичный адрес для вебхуков доступен", "The public URL for webhooks is reachable"),
			Status: chatter.StatusOK, Guide: chatter.GuideDelivery, Details: map[string]string{"public_url": redactURL(publicURL)}}
		if publicURL == "" {
			if webhooks {
				fail(&r, chatter.T("вебхуки настроены, но публичный адрес сервера (http.public_url) не задан",
					"webhooks are configured but the server's public URL (http.public_url) is not set"),
					chatter.T("Укажите http.public_url: адрес https, по которому Telegram и amoCRM достучатся до сервера.",
						"Set http.public_url: the https address where Telegram and amoCRM reach the server."))
				return r
			}
			r.Status = chatter.StatusSkip
			return r
		}
		u, err := url.Parse(publicURL)
		if err != nil {
			fail(&r, chatter.T("неверный публичный адрес: "+err.Error(), "bad public URL: "+err.Error()),
				chatter.T("Исправьте http.public_url.", "Fix http.public_url."))
			return r
		}
		ctx, cancel := context.WithTimeout(ctx, checkHTTPLimit)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(publicURL, "/")+"/healthz", nil)
		if err != nil {
			fail(&r, chatter.T("неверный публичный адрес: "+err.Error(), "bad public URL: "+err.Error()), chatter.T("Исправьте http.public_url.", "Fix http.public_url."))
			return r
		}
		resp, err := hc.Do(req)
		if err != nil {
			fail(&r, chatter.T("публичный адрес недоступен: "+err.Error(), "the public URL is unreachable: "+err.Error()),
				chatter.T("Проверьте DNS, прокси-сервер (nginx) и сертификат: вебхуки Telegram и amoCRM идут на этот адрес.",
					"Check DNS, the reverse proxy (nginx) and the certificate: Telegram and amoCRM webhooks go to this address."))
			return r
		}
		defer resp.Body.Close()
		r.Details["status"] = resp.Status
		if resp.StatusCode != http.StatusOK || resp.Header.Get(InstanceHeader) != instanceID {
			fail(&r, chatter.T(fmt.Sprintf("по публичному адресу отвечает не этот сервер (%s)", resp.Status),
				fmt.Sprintf("something other than this server answers at the public URL (%s)", resp.Status)),
				chatter.T("Проверьте, что прокси-сервер передаёт запросы на этот экземпляр Чаттера.", "Check that the reverse proxy forwards requests to this Chatter instance."))
			return r
		}
		if u.Scheme != "https" {
			warn(&r, chatter.T("публичный адрес не https: Telegram принимает вебхуки только по https", "the public URL is not https: Telegram accepts webhooks over https only"),
				chatter.T("Настройте https (например, nginx с сертификатом Let's Encrypt) и укажите адрес https://.", "Set up https (for example nginx with a Let's Encrypt certificate) and use an https:// address."))
		}
		return r
	})
}

// InstanceHeader is the header /healthz answers with the instance's id, so
// the public URL check can tell this server from another one.
const InstanceHeader = "X-Chatter-Instance"

// redactURL drops user info and the query from u for display.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(invalid)"
	}
	u.User = nil
	u.RawQuery = ""
	return u.String()
}

// Ledger is what the queue checks read.
type Ledger interface {
	CountEntries(ctx context.Context, q chatter.LedgerQuery) (map[chatter.State]int, error)
	ListEntries(ctx context.Context, q chatter.LedgerQuery) ([]*chatter.LedgerEntry, error)
}

// Queue checks the delivery queue of workspace: how many messages wait and
// how long the oldest has waited.
func Queue(l Ledger, workspace string, now func() time.Time) chatter.Check {
	if now == nil {
		now = time.Now
	}
	return chatter.CheckFunc("server.queue."+workspace, func(ctx context.Context) chatter.CheckResult {
		r := chatter.CheckResult{Title: chatter.T("Очередь доставки ("+workspace+")", "Delivery queue ("+workspace+")"),
			Status: chatter.StatusOK, Guide: chatter.GuideSlow, Details: map[string]string{}}
		waiting := WaitingStates
		counts, err := l.CountEntries(ctx, chatter.LedgerQuery{Workspace: workspace, States: waiting})
		if err != nil {
			fail(&r, chatter.T("хранилище не ответило: "+err.Error(), "the store did not answer: "+err.Error()),
				chatter.T("Проверьте подключение к базе данных.", "Check the database connection."))
			return r
		}
		depth := 0
		for _, st := range waiting {
			depth += counts[st]
		}
		r.Details["depth"] = strconv.Itoa(depth)
		if depth == 0 {
			return r
		}
		oldest, _, err := OldestWaiting(ctx, l, workspace)
		if err != nil {
			fail(&r, chatter.T("хранилище не ответило: "+err.Error(), "the store did not answer: "+err.Error()),
				chatter.T("Проверьте подключение к базе данных.", "Check the database connection."))
			return r
		}
		age := now().Sub(oldest).Round(time.Second)
		r.Details["oldest_age"] = age.String()
		remedy := chatter.T("Посмотрите журнал доставки: если сообщения ждут из-за лимита amoCRM или ошибок, устраните причину; при большом потоке добавьте обработчиков (delivery.workers) или экземпляров сервера.",
			"Look at the delivery ledger: if messages wait for amoCRM's rate limit or errors, fix the cause; for a heavy flow add workers (delivery.workers) or server instances.")
		switch {
		case age > QueueFailAge:
			fail(&r, chatter.T(fmt.Sprintf("в очереди %d сообщений, старейшее ждёт %s", depth, age), fmt.Sprintf("%d messages wait, the oldest for %s", depth, age)), remedy)
		case age > QueueWarnAge || depth > QueueWarnDepth:
			warn(&r, chatter.T(fmt.Sprintf("в очереди %d сообщений, старейшее ждёт %s", depth, age), fmt.Sprintf("%d messages wait, the oldest for %s", depth, age)), remedy)
		}
		return r
	})
}

// WaitingStates are the ledger states of a message that still waits for
// delivery.
var WaitingStates = []chatter.State{chatter.StateReceived, chatter.StateQueued, chatter.StateDelivering, chatter.StateFailed}

// OldestWaiting returns when the oldest message of workspace that still
// waits for delivery arrived, and false when none waits: one oldest-first
// ledger query.
func OldestWaiting(ctx context.Context, l Ledger, workspace string) (time.Time, bool, error) {
	es, err := l.ListEntries(ctx, chatter.LedgerQuery{Workspace: workspace, States: WaitingStates, Oldest: true, Limit: 1})
	if err != nil || len(es) == 0 {
		return time.Time{}, false, err
	}
	return es[0].ReceivedAt, true, nil
}

// Dead checks for deliveries that went dead in the last DeadWindow.
func Dead(l Ledger, workspace string, now func() time.Time) chatter.Check {
	if now == nil {
		now = time.Now
	}
	return chatter.CheckFunc("server.dead."+workspace, func(ctx context.Context) chatter.CheckResult {
		r := chatter.CheckResult{Title: chatter.T("Недоставленные сообщения за сутки ("+workspace+")", "Undelivered messages in the last day ("+workspace+")"),
			Status: chatter.StatusOK, Guide: chatter.GuideDelivery, Details: map[string]string{}}
		q := chatter.LedgerQuery{Workspace: workspace, States: []chatter.State{chatter.StateDead}, From: now().Add(-DeadWindow), Limit: 5}
		counts, err := l.CountEntries(ctx, q)
		if err != nil {
			fail(&r, chatter.T("хранилище не ответило: "+err.Error(), "the store did not answer: "+err.Error()),
				chatter.T("Проверьте подключение к базе данных.", "Check the database connection."))
			return r
		}
		n := counts[chatter.StateDead]
		r.Details["dead"] = strconv.Itoa(n)
		if n == 0 {
			return r
		}
		es, err := l.ListEntries(ctx, q)
		if err == nil && len(es) > 0 {
			classes := map[chatter.ErrorClass]int{}
			for _, e := range es {
				classes[e.ErrorClass]++
			}
			var parts []string
			for c, k := range classes {
				parts = append(parts, fmt.Sprintf("%s×%d", c, k))
			}
			r.Details["recent_classes"] = strings.Join(parts, ", ")
			r.Details["last_error"] = es[0].LastError
		}
		fail(&r, chatter.T(fmt.Sprintf("%d сообщений не доставлено в amoCRM за сутки", n), fmt.Sprintf("%d messages were not delivered to amoCRM in the last day", n)),
			chatter.T("Откройте журнал доставки с фильтром «не доставлено», устраните причину по тексту ошибки и нажмите «Повторить».",
				"Open the delivery ledger filtered by «dead», fix the cause the error names, and press «Replay»."))
		return r
	})
}

var errNoStatfs = errors.New("doctor: free disk space is not available on this platform")
