package tgparse

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/chatterhq/sdk/chatter"
)

// Account is one Telegram user account the parser reads with.
//
// APIHash, the phone number and the proxy credentials are secrets: an
// AccountStore keeps them sealed, and Account's String, GoString, Format
// and LogValue never show them (fmt with any verb, slog with any handler).
// Its JSON form holds them in the clear: it is what AccountStore seals.
type Account struct {
	// ID names the account in keys, leases and checkpoints: 1..64 bytes
	// without ':' or '@', stable for the account's life (e.g. "sales1").
	ID string `json:"id"`
	// Phone in international format, e.g. "+79991234567".
	Phone string `json:"phone"`
	// APIID and APIHash are the application's credentials from
	// my.telegram.org.
	APIID   int    `json:"api_id"`
	APIHash string `json:"api_hash"`
	// Device is what Telegram shows in the account's list of sessions.
	Device Device `json:"device,omitzero"`
	// Proxy is the account's proxy URL; empty connects directly. See
	// ParseProxy for the forms.
	Proxy string `json:"proxy,omitempty"`
}

// Device describes the client to Telegram (initConnection). Empty fields are
// sent as Telegram's defaults.
type Device struct {
	Model      string `json:"model,omitempty"`       // e.g. "Desktop"
	System     string `json:"system,omitempty"`      // e.g. "Windows 10"
	AppVersion string `json:"app_version,omitempty"` // e.g. "5.6.3 x64"
	LangCode   string `json:"lang_code,omitempty"`   // e.g. "ru"
}

// Validate checks the account's fields and its proxy URL. It returns an
// *Error of KindConfig.
func (a Account) Validate() error {
	switch {
	case a.ID == "" || len(a.ID) > 64 || strings.ContainsAny(a.ID, ":@/ \t\n"):
		return configErr("account id %q must be 1..64 bytes without ':', '@', '/' or spaces", a.ID)
	case !validPhone(a.Phone):
		return configErr("account %s: phone must be in international format, e.g. +79991234567", a.ID)
	case a.APIID <= 0:
		return configErr("account %s: api_id must be positive", a.ID)
	case len(a.APIHash) != 32 || !isHex(a.APIHash):
		return configErr("account %s: api_hash must be 32 hex digits", a.ID)
	}
	if a.Proxy != "" {
		if _, err := ParseProxy(a.Proxy); err != nil {
			return fmt.Errorf("account %s: %w", a.ID, err)
		}
	}
	return nil
}

// String shows the account without secrets: "sales1 (+7999***4567)".
func (a Account) String() string { return a.ID + " (" + MaskPhone(a.Phone) + ")" }

// GoString shows the account's fields with the secrets masked, for %#v.
func (a Account) GoString() string {
	return fmt.Sprintf("tgparse.Account{ID:%q, Phone:%q, APIID:%d, APIHash:%q, Device:%#v, Proxy:%q}",
		a.ID, MaskPhone(a.Phone), a.APIID, redact(a.APIHash), a.Device, redactProxyURL(a.Proxy))
}

// Format makes every fmt verb show String (GoString for %#v), so that no
// verb prints the fields.
func (a Account) Format(f fmt.State, verb rune) { formatRedacted(f, verb, a.String(), a.GoString()) }

// LogValue logs the account without secrets.
func (a Account) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("id", a.ID), slog.String("phone", MaskPhone(a.Phone))}
	if a.Proxy != "" {
		attrs = append(attrs, slog.String("proxy", redactProxyURL(a.Proxy)))
	}
	return slog.GroupValue(attrs...)
}

// MaskPhone hides the middle of a phone number: +7999***4567. At least
// three digits stay hidden: shorter numbers keep fewer digits at the ends.
func MaskPhone(p string) string {
	switch {
	case len(p) >= 12:
		return p[:5] + "***" + p[len(p)-4:]
	case len(p) >= 8:
		return p[:2] + "***" + p[len(p)-2:]
	}
	return strings.Repeat("*", len(p))
}

// redacted replaces a secret in renderings.
const redacted = "[redacted]"

// redact returns redacted for a non-empty secret, "" for an empty one.
func redact(s string) string {
	if s == "" {
		return ""
	}
	return redacted
}

// redactProxyURL renders a proxy URL without its password or secret; a URL
// that does not parse is redacted whole (it may hold a password).
func redactProxyURL(s string) string {
	if s == "" {
		return ""
	}
	p, err := ParseProxy(s)
	if err != nil {
		return redacted
	}
	return p.Redacted()
}

// formatRedacted writes s (gos for %#v) under any verb and flags.
func formatRedacted(f fmt.State, verb rune, s, gos string) {
	if verb == 'v' && f.Flag('#') {
		_, _ = io.WriteString(f, gos)
		return
	}
	_, _ = fmt.Fprintf(f, fmt.FormatString(f, verb), s)
}

func validPhone(p string) bool {
	p = strings.TrimPrefix(p, "+")
	if len(p) < 7 || len(p) > 15 {
		return false
	}
	for _, c := range p {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil
}

// ProxyKind is the protocol of a proxy.
type ProxyKind string

// Proxy kinds. gotd supports SOCKS5 (through golang.org/x/net/proxy) and
// MTProxy (dcs.MTProxy, including fake-TLS "ee" secrets).
const (
	ProxySOCKS5  ProxyKind = "socks5"
	ProxyMTProxy ProxyKind = "mtproxy"
)

// Proxy is a parsed proxy URL.
type Proxy struct {
	Kind     ProxyKind
	Addr     string // host:port
	User     string // SOCKS5 only
	Password string // SOCKS5 only
	Secret   []byte // MTProxy only
}

// String renders the proxy without its password or secret (Redacted).
func (p Proxy) String() string { return p.Redacted() }

// GoString shows the proxy's fields with the password and secret
// redacted, for %#v.
func (p Proxy) GoString() string {
	sec := ""
	if len(p.Secret) > 0 {
		sec = redacted
	}
	return fmt.Sprintf("tgparse.Proxy{Kind:%q, Addr:%q, User:%q, Password:%q, Secret:%q}", p.Kind, p.Addr, p.User, redact(p.Password), sec)
}

// Format makes every fmt verb show String (GoString for %#v).
func (p Proxy) Format(f fmt.State, verb rune) { formatRedacted(f, verb, p.String(), p.GoString()) }

// LogValue logs the proxy without its password or secret.
func (p Proxy) LogValue() slog.Value { return slog.StringValue(p.Redacted()) }

// Redacted renders the proxy without its password or secret.
func (p Proxy) Redacted() string {
	switch p.Kind {
	case ProxySOCKS5:
		if p.User != "" {
			return "socks5://" + p.User + ":***@" + p.Addr
		}
		return "socks5://" + p.Addr
	case ProxyMTProxy:
		return "mtproxy://" + p.Addr + "?secret=***"
	}
	return ""
}

// ParseProxy parses a proxy URL:
//
//	socks5://host:port, socks5://user:password@host:port (socks5h works too)
//	mtproxy://host:port?secret=HEX
//	tg://proxy?server=host&port=443&secret=HEX, https://t.me/proxy?server=…
//	tg://socks?server=host&port=1080&user=u&pass=p
//
// It returns an *Error of KindConfig naming the problem.
func ParseProxy(s string) (Proxy, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return Proxy{}, configErr("proxy: not a URL")
	}
	q := u.Query()
	switch scheme := strings.ToLower(u.Scheme); {
	case scheme == "socks5" || scheme == "socks5h":
		p := Proxy{Kind: ProxySOCKS5, Addr: u.Host}
		if u.User != nil {
			p.User = u.User.Username()
			p.Password, _ = u.User.Password()
		}
		return p, checkAddr(p)
	case scheme == "mtproxy":
		sec, err := hex.DecodeString(q.Get("secret"))
		if err != nil || len(sec) < 16 {
			return Proxy{}, configErr("proxy: the MTProxy secret must be at least 16 bytes in hex")
		}
		p := Proxy{Kind: ProxyMTProxy, Addr: u.Host, Secret: sec}
		return p, checkAddr(p)
	case scheme == "tg" || (scheme == "https" || scheme == "http") && linkHosts[strings.ToLower(u.Host)]:
		what := strings.ToLower(u.Host)
		if scheme != "tg" {
			what = strings.ToLower(strings.Trim(u.Path, "/"))
		}
		addr := net.JoinHostPort(q.Get("server"), q.Get("port"))
		switch what {
		case "proxy":
			sec, err := hex.DecodeString(q.Get("secret"))
			if err != nil || len(sec) < 16 {
				return Proxy{}, configErr("proxy: the MTProxy secret must be at least 16 bytes in hex")
			}
			p := Proxy{Kind: ProxyMTProxy, Addr: addr, Secret: sec}
			return p, checkAddr(p)
		case "socks":
			p := Proxy{Kind: ProxySOCKS5, Addr: addr, User: q.Get("user"), Password: q.Get("pass")}
			return p, checkAddr(p)
		}
	}
	return Proxy{}, configErr("proxy: want socks5://[user:password@]host:port or mtproxy://host:port?secret=HEX")
}

func checkAddr(p Proxy) error {
	host, port, err := net.SplitHostPort(p.Addr)
	if err != nil || host == "" {
		return configErr("proxy: want host:port")
	}
	if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
		return configErr("proxy: bad port %q", port)
	}
	return nil
}

// AccountStore keeps accounts in a chatter.SettingsStore, each sealed
// whole with a chatter.Sealer (bound to its workspace and id), so api_hash,
// phone and proxy credentials are never stored in plain text. It is safe
// for concurrent use; Save is a compare-and-swap retried on conflict.
type AccountStore struct {
	settings  chatter.SettingsStore
	sealer    *chatter.Sealer
	workspace string
}

// accountKeyPrefix prefixes the settings keys of accounts.
const accountKeyPrefix = "tgparse.account."

// NewAccountStore returns an AccountStore for workspace.
func NewAccountStore(settings chatter.SettingsStore, sealer *chatter.Sealer, workspace string) (*AccountStore, error) {
	switch {
	case settings == nil:
		return nil, configErr("account store: settings store is nil")
	case sealer == nil:
		return nil, configErr("account store: sealer is nil (accounts hold secrets)")
	case workspace == "":
		return nil, configErr("account store: workspace is empty")
	}
	return &AccountStore{settings: settings, sealer: sealer, workspace: workspace}, nil
}

// Workspace returns the store's workspace.
func (s *AccountStore) Workspace() string { return s.workspace }

type sealedAccount struct {
	Sealed  []byte `json:"sealed,omitempty"` // base64 in JSON
	Deleted bool   `json:"deleted,omitempty"`
}

func (s *AccountStore) ad(id string) []byte {
	return []byte("tgparse.account:" + s.workspace + ":" + id)
}

// Save stores a (after Validate), replacing the stored version.
func (s *AccountStore) Save(ctx context.Context, a Account) error {
	if err := a.Validate(); err != nil {
		return err
	}
	plain, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("tgparse: save account %s: %w", a.ID, err)
	}
	sealed, err := s.sealer.Seal(plain, s.ad(a.ID))
	if err != nil {
		return fmt.Errorf("tgparse: save account %s: %w", a.ID, err)
	}
	return s.put(ctx, a.ID, sealedAccount{Sealed: sealed})
}

// Delete removes the account (a tombstone: the settings store keeps the
// key). Deleting an unknown account is not an error.
func (s *AccountStore) Delete(ctx context.Context, id string) error {
	return s.put(ctx, id, sealedAccount{Deleted: true})
}

func (s *AccountStore) put(ctx context.Context, id string, v sealedAccount) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	key := accountKeyPrefix + id
	for attempt := 0; attempt < 5; attempt++ {
		var version int64
		cur, err := s.settings.GetSetting(ctx, s.workspace, key)
		switch {
		case err == nil:
			version = cur.Version
		case !errors.Is(err, chatter.ErrNotFound):
			return fmt.Errorf("tgparse: account %s: %w", id, err)
		}
		_, err = s.settings.PutSetting(ctx, s.workspace, key, raw, version)
		if err == nil || !errors.Is(err, chatter.ErrConflict) {
			if err != nil {
				return fmt.Errorf("tgparse: account %s: %w", id, err)
			}
			return nil
		}
	}
	return fmt.Errorf("tgparse: account %s: %w", id, chatter.ErrConflict)
}

// Get returns the account, or an *Error of KindAccountUnknown that wraps
// chatter.ErrNotFound.
func (s *AccountStore) Get(ctx context.Context, id string) (Account, error) {
	set, err := s.settings.GetSetting(ctx, s.workspace, accountKeyPrefix+id)
	if errors.Is(err, chatter.ErrNotFound) {
		return Account{}, &Error{Kind: KindAccountUnknown, Account: id, Err: chatter.ErrNotFound}
	}
	if err != nil {
		return Account{}, fmt.Errorf("tgparse: account %s: %w", id, err)
	}
	return s.open(id, set.Value)
}

func (s *AccountStore) open(id string, raw json.RawMessage) (Account, error) {
	var v sealedAccount
	if err := json.Unmarshal(raw, &v); err != nil {
		return Account{}, fmt.Errorf("tgparse: account %s: stored value: %w", id, err)
	}
	if v.Deleted {
		return Account{}, &Error{Kind: KindAccountUnknown, Account: id, Err: chatter.ErrNotFound}
	}
	plain, err := s.sealer.Open(v.Sealed, s.ad(id))
	if err != nil {
		return Account{}, fmt.Errorf("tgparse: account %s: %w", id, err)
	}
	var a Account
	if err := json.Unmarshal(plain, &a); err != nil {
		return Account{}, fmt.Errorf("tgparse: account %s: sealed value: %w", id, err)
	}
	return a, nil
}

// List returns the workspace's accounts, sorted by id as the settings store
// returns them.
func (s *AccountStore) List(ctx context.Context) ([]Account, error) {
	sets, err := s.settings.ListSettings(ctx, s.workspace, accountKeyPrefix)
	if err != nil {
		return nil, fmt.Errorf("tgparse: list accounts: %w", err)
	}
	var out []Account
	for _, set := range sets {
		id := strings.TrimPrefix(set.Key, accountKeyPrefix)
		a, err := s.open(id, set.Value)
		if errors.Is(err, ErrAccountUnknown) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}
