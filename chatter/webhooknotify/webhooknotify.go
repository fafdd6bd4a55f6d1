package webhooknotify

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/chatterhq/sdk/chatter"
)

// Header names set on every request.
const (
	HeaderEvent     = "X-Chatter-Event"
	HeaderDelivery  = "X-Chatter-Delivery"
	HeaderTimestamp = "X-Chatter-Timestamp"
	HeaderSignature = "X-Chatter-Signature"
)

// Defaults for Config fields left zero.
const (
	DefaultMaxAttempts    = 4
	DefaultBackoffBase    = time.Second
	DefaultBackoffMax     = 30 * time.Second
	DefaultRequestTimeout = 10 * time.Second
	DefaultTolerance      = 5 * time.Minute
	maxResponseBytes      = 64 << 10
)

// Config configures a Notifier.
type Config struct {
	// URLs receive every notification. Each must be an absolute http or
	// https URL. Required.
	URLs []string
	// Secret signs the requests (HMAC-SHA256). Required, at least 16 bytes.
	Secret []byte
	// HTTPClient sends the requests. Defaults to a client with
	// RequestTimeout; redirects are refused whatever client is given. With
	// the address guard on (AllowPrivate false), its Transport must be nil
	// or an *http.Transport without Dial hooks of its own: the Notifier
	// uses a clone that dials through the guard and never through a proxy.
	HTTPClient *http.Client
	// AllowPrivate turns the address guard off. By default a Notifier
	// connects only to public addresses: loopback, private (RFC 1918,
	// fc00::/7), link-local (169.254.0.0/16, where cloud metadata services
	// answer, and fe80::/10), unspecified, multicast, CGNAT (100.64.0.0/10)
	// and other reserved addresses are refused with an *AddressError. The
	// check is made on every address dialled, after name resolution, so a
	// host name that resolves or is rebound to such an address is refused
	// as well. Set AllowPrivate for a trusted configuration (tests, a demo,
	// a receiver on the same host); prefer Allow for one internal receiver.
	AllowPrivate bool
	// Allow lets the guard pass these: CIDR networks ("10.20.0.0/16"),
	// single addresses ("192.168.1.10", "::1") or host names
	// ("hooks.internal", dialled without the check whatever they resolve
	// to). Everything else that is not public stays refused.
	Allow []string
	// MaxAttempts per URL and notification. Defaults to 4.
	MaxAttempts int
	// BackoffBase and BackoffMax bound the exponential backoff between
	// attempts. Default to 1s and 30s.
	BackoffBase, BackoffMax time.Duration
	// RequestTimeout bounds one attempt. Defaults to 10s.
	RequestTimeout time.Duration
	// UserAgent is sent with every request. Defaults to "chatter-webhooknotify/1".
	UserAgent string
	// Now returns the current time. Defaults to time.Now.
	Now func() time.Time
	// Logger receives delivery diagnostics; nil is silent. The secret and
	// the body are never logged.
	Logger *slog.Logger

	// wait sleeps for d or until ctx ends; tests replace it.
	wait func(ctx context.Context, d time.Duration) error
}

// ConfigError says which Config field cannot work and why. It wraps
// chatter.ErrInvalid (and the parse error, if any).
type ConfigError struct {
	Field   string       // e.g. "Config.URLs"
	Problem chatter.Text // what is wrong, in Russian and English
	Err     error        // the underlying error, or nil
}

func (e *ConfigError) Error() string { return "webhooknotify: " + e.Field + ": " + e.Problem.EN }

// Message explains the problem to an operator.
func (e *ConfigError) Message() chatter.Text {
	return chatter.T("Настройка вебхука "+e.Field+": "+e.Problem.RU, "Webhook setting "+e.Field+": "+e.Problem.EN)
}

// Unwrap returns chatter.ErrInvalid and the underlying error.
func (e *ConfigError) Unwrap() []error {
	if e.Err == nil {
		return []error{chatter.ErrInvalid}
	}
	return []error{chatter.ErrInvalid, e.Err}
}

func configErr(field, ru, en string, err error) error {
	return &ConfigError{Field: field, Problem: chatter.T(ru, en), Err: err}
}

// Notifier posts notifications to webhooks. It is safe for concurrent use.
type Notifier struct {
	cfg  Config
	urls []*url.URL
	hc   *http.Client
	log  *slog.Logger
}

var _ chatter.Notifier = (*Notifier)(nil)

// New validates cfg and returns a Notifier. It does no I/O. A bad cfg gives
// a *ConfigError (it wraps chatter.ErrInvalid).
func New(cfg Config) (*Notifier, error) {
	if len(cfg.URLs) == 0 {
		return nil, configErr("Config.URLs", "не задан ни один адрес", "no URL is given", nil)
	}
	if len(cfg.Secret) < 16 {
		return nil, configErr("Config.Secret", "секрет короче 16 байт", "the secret is shorter than 16 bytes", nil)
	}
	n := &Notifier{cfg: cfg}
	for _, raw := range cfg.URLs {
		u, err := url.Parse(raw)
		if err != nil {
			return nil, configErr("Config.URLs", fmt.Sprintf("%q — не адрес URL", redactURL(raw)),
				fmt.Sprintf("%q is not a URL", redactURL(raw)), err)
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, configErr("Config.URLs", fmt.Sprintf("%q — не полный адрес http(s)", redactURL(raw)),
				fmt.Sprintf("%q is not an absolute http(s) URL", redactURL(raw)), nil)
		}
		n.urls = append(n.urls, u)
	}
	if cfg.MaxAttempts < 0 || cfg.BackoffBase < 0 || cfg.BackoffMax < 0 || cfg.RequestTimeout < 0 {
		return nil, configErr("Config", "MaxAttempts, BackoffBase, BackoffMax и RequestTimeout не могут быть отрицательными",
			"MaxAttempts, BackoffBase, BackoffMax and RequestTimeout must not be negative", nil)
	}
	g, err := parseAllow(cfg.Allow)
	if err != nil {
		return nil, err
	}
	n.cfg.MaxAttempts = cmp.Or(cfg.MaxAttempts, DefaultMaxAttempts)
	n.cfg.BackoffBase = cmp.Or(cfg.BackoffBase, DefaultBackoffBase)
	n.cfg.BackoffMax = cmp.Or(cfg.BackoffMax, DefaultBackoffMax)
	n.cfg.RequestTimeout = cmp.Or(cfg.RequestTimeout, DefaultRequestTimeout)
	n.cfg.UserAgent = cmp.Or(cfg.UserAgent, "chatter-webhooknotify/1")
	if n.cfg.Now == nil {
		n.cfg.Now = time.Now
	}
	if n.cfg.wait == nil {
		n.cfg.wait = sleepCtx
	}
	base := cfg.HTTPClient
	if base == nil {
		base = &http.Client{}
	}
	hc := *base
	if !cfg.AllowPrivate {
		var tr *http.Transport
		if base.Transport == nil && len(g.nets) == 0 && len(g.hosts) == 0 {
			tr, err = defaultGuarded()
		} else {
			tr, err = g.transport(base.Transport)
		}
		if err != nil {
			return nil, err
		}
		hc.Transport = tr
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	n.hc = &hc
	n.log = cfg.Logger
	if n.log == nil {
		n.log = slog.New(slog.DiscardHandler)
	}
	return n, nil
}

// Payload is the JSON body of a webhook request.
type Payload struct {
	ID string `json:"id"`
	*chatter.Notification
}

// Notify posts n to every configured URL, retrying each as documented, and
// returns the joined errors of the URLs that failed (a *DeliveryError each).
func (n *Notifier) Notify(ctx context.Context, note *chatter.Notification) error {
	if note == nil {
		return errors.New("webhooknotify: nil notification")
	}
	id := newID()
	body, err := json.Marshal(Payload{ID: id, Notification: note})
	if err != nil {
		return fmt.Errorf("webhooknotify: encode notification: %w", err)
	}
	var errs []error
	for _, u := range n.urls {
		if err := n.send(ctx, u, string(note.Type), id, body); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// DeliveryError says why a notification did not reach one URL.
type DeliveryError struct {
	URL        string // redacted: no user info, no query
	Attempts   int
	StatusCode int // the last HTTP status, 0 for network errors
	Err        error
}

func (e *DeliveryError) Error() string {
	if e.StatusCode != 0 {
		return fmt.Sprintf("webhooknotify: %s: HTTP %d after %d attempt(s)", e.URL, e.StatusCode, e.Attempts)
	}
	return fmt.Sprintf("webhooknotify: %s: %v after %d attempt(s)", e.URL, e.Err, e.Attempts)
}

// Unwrap returns the underlying error.
func (e *DeliveryError) Unwrap() error { return e.Err }

// Message explains the failure to an operator.
func (e *DeliveryError) Message() chatter.Text {
	var ae *AddressError
	if errors.As(e.Err, &ae) {
		m := ae.Message()
		return chatter.T("Вебхук "+e.URL+" не вызван. "+m.RU, "Webhook "+e.URL+" was not called. "+m.EN)
	}
	if e.StatusCode >= 300 && e.StatusCode < 400 {
		return chatter.T(
			fmt.Sprintf("Вебхук %s ответил перенаправлением (HTTP %d). Chatter не следует перенаправлениям: укажите адрес, который принимает POST-запросы сам.", e.URL, e.StatusCode),
			fmt.Sprintf("Webhook %s answered with a redirect (HTTP %d). Chatter does not follow redirects: give the URL that accepts the POST requests itself.", e.URL, e.StatusCode))
	}
	if e.StatusCode != 0 {
		return chatter.T(
			fmt.Sprintf("Вебхук %s ответил HTTP %d (попыток: %d). Проверьте, что адрес принимает POST-запросы Chatter и проверяет подпись тем же секретом.", e.URL, e.StatusCode, e.Attempts),
			fmt.Sprintf("Webhook %s answered HTTP %d (%d attempt(s)). Check that the URL accepts Chatter's POST requests and verifies the signature with the same secret.", e.URL, e.StatusCode, e.Attempts))
	}
	return chatter.T(
		fmt.Sprintf("Вебхук %s недоступен (попыток: %d): %v. Проверьте адрес и доступность сервера.", e.URL, e.Attempts, e.Err),
		fmt.Sprintf("Webhook %s is unreachable (%d attempt(s)): %v. Check the URL and that the server is up.", e.URL, e.Attempts, e.Err))
}

// ErrorClass classifies the failure for chatter.ClassOf.
func (e *DeliveryError) ErrorClass() chatter.ErrorClass {
	if isAddressError(e.Err) {
		return chatter.ClassPermanent
	}
	if retryableStatus(e.StatusCode) || e.StatusCode == 0 {
		return chatter.ClassTransient
	}
	return chatter.ClassPermanent
}

func (n *Notifier) send(ctx context.Context, u *url.URL, event, id string, body []byte) error {
	derr := &DeliveryError{URL: redactURL(u.String())}
	for attempt := 1; ; attempt++ {
		derr.Attempts = attempt
		status, retryAfter, err := n.post(ctx, u, event, id, body)
		derr.StatusCode, derr.Err = status, err
		if err == nil && status >= 200 && status < 300 {
			n.log.LogAttrs(ctx, slog.LevelDebug, "webhook delivered",
				slog.String("url", derr.URL), slog.String("event", event), slog.Int("attempt", attempt))
			return nil
		}
		if ctx.Err() != nil {
			derr.Err = ctx.Err()
			return derr
		}
		if isAddressError(err) {
			n.log.LogAttrs(ctx, slog.LevelWarn, "webhook address refused",
				slog.String("url", derr.URL), slog.String("event", event), slog.String("error", err.Error()))
			return derr
		}
		if err == nil && !retryableStatus(status) {
			derr.Err = fmt.Errorf("HTTP %d", status)
			return derr
		}
		if err == nil {
			derr.Err = fmt.Errorf("HTTP %d", status)
		}
		if attempt >= n.cfg.MaxAttempts {
			n.log.LogAttrs(ctx, slog.LevelWarn, "webhook delivery failed",
				slog.String("url", derr.URL), slog.String("event", event),
				slog.Int("attempts", attempt), slog.Int("status", status), slog.String("error", derr.Err.Error()))
			return derr
		}
		d := n.backoff(attempt)
		if retryAfter > d {
			d = min(retryAfter, n.cfg.BackoffMax)
		}
		if err := n.cfg.wait(ctx, d); err != nil {
			derr.Err = err
			return derr
		}
	}
}

func (n *Notifier) post(ctx context.Context, u *url.URL, event, id string, body []byte) (status int, retryAfter time.Duration, err error) {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	ts := n.cfg.Now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", n.cfg.UserAgent)
	req.Header.Set(HeaderEvent, event)
	req.Header.Set(HeaderDelivery, id)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, "v1="+Sign(n.cfg.Secret, ts, body))
	resp, err := n.hc.Do(req)
	if err != nil {
		return 0, 0, scrub(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBytes))
	if s := resp.Header.Get("Retry-After"); s != "" {
		if secs, err := strconv.Atoi(s); err == nil && secs > 0 {
			retryAfter = time.Duration(secs) * time.Second
		}
	}
	return resp.StatusCode, retryAfter, nil
}

func (n *Notifier) backoff(attempt int) time.Duration {
	d := n.cfg.BackoffBase << min(attempt-1, 20)
	if d <= 0 || d > n.cfg.BackoffMax {
		d = n.cfg.BackoffMax
	}
	// Full jitter over the upper half keeps retries spread but bounded below.
	return d/2 + mrand.N(d/2+1)
}

func retryableStatus(code int) bool {
	return code == http.StatusRequestTimeout || code == http.StatusTooEarly ||
		code == http.StatusTooManyRequests || code >= 500
}

// Sign returns the hex HMAC-SHA256 of "timestamp.body" under secret, the value
// after "v1=" in the X-Chatter-Signature header.
func Sign(secret []byte, timestamp int64, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(strconv.AppendInt(nil, timestamp, 10))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// Verification errors returned by Verify.
var (
	ErrNoSignature  = errors.New("webhooknotify: missing or malformed signature headers")
	ErrBadSignature = errors.New("webhooknotify: signature does not match")
	ErrStale        = errors.New("webhooknotify: timestamp outside the replay window")
)

// Verify checks a received request's signature headers against body and
// secret, and that its timestamp is within tolerance of now (DefaultTolerance
// when zero). The signature header may carry several "v1=" values
// (comma-separated) during a secret rotation; one match is enough.
// Comparison is constant-time.
func Verify(secret []byte, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	tolerance = cmp.Or(tolerance, DefaultTolerance)
	tsRaw, sigRaw := h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if tsRaw == "" || sigRaw == "" || len(tsRaw) > 20 {
		return ErrNoSignature
	}
	ts, err := strconv.ParseInt(tsRaw, 10, 64)
	if err != nil || ts <= 0 {
		return ErrNoSignature
	}
	sent := time.Unix(ts, 0)
	if d := now.Sub(sent); d > tolerance || d < -tolerance {
		return ErrStale
	}
	want := []byte(Sign(secret, ts, body))
	found := false
	for part := range strings.SplitSeq(sigRaw, ",") {
		v, ok := strings.CutPrefix(strings.TrimSpace(part), "v1=")
		if !ok {
			continue
		}
		found = true
		if hmac.Equal([]byte(v), want) {
			return nil
		}
	}
	if !found {
		return ErrNoSignature
	}
	return ErrBadSignature
}

// Check returns a diagnostic that sends a signed "ping" notification to every
// configured URL and reports which ones do not accept it.
func (n *Notifier) Check() chatter.Check {
	return chatter.CheckFunc("webhook_notifier", func(ctx context.Context) chatter.CheckResult {
		res := chatter.CheckResult{
			Title:  chatter.T("Уведомления через вебхук", "Webhook notifications"),
			Status: chatter.StatusOK,
			Guide:  chatter.GuideNotifications,
		}
		ping := &chatter.Notification{
			Type: "ping", Time: n.cfg.Now(), Severity: chatter.SeverityInfo,
			Title: chatter.T("Проверка вебхука Chatter", "Chatter webhook check"),
		}
		if err := n.Notify(ctx, ping); err != nil {
			res.Status = chatter.StatusFail
			var de *DeliveryError
			if errors.As(err, &de) {
				res.Cause = de.Message()
			} else {
				res.Cause = chatter.T("Не удалось отправить проверочный вебхук: "+err.Error(), "Could not send the check webhook: "+err.Error())
			}
			res.Remedy = chatter.T(
				"Проверьте адреса вебхуков в настройках уведомлений, доступность сервера-получателя и что он отвечает 2xx на POST.",
				"Check the webhook URLs in the notification settings, that the receiving server is reachable, and that it answers 2xx to POST.")
		}
		return res
	})
}

func newID() string {
	var b [16]byte
	if _, err := crand.Read(b[:]); err != nil {
		return strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	return hex.EncodeToString(b[:])
}

// redactURL drops user info and the query (which may carry credentials).
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<invalid url>"
	}
	u.User = nil
	u.RawQuery, u.Fragment = "", ""
	return u.String()
}

// scrub removes the URL (with its query) from transport errors.
func scrub(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s %s: %w", ue.Op, redactURL(ue.URL), ue.Err)
	}
	return err
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
