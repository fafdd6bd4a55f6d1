package tgparse_test

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/chattertest"
	"github.com/chatterhq/sdk/tgparse"
)

// Secrets of the values below; none may show in any rendering.
const (
	secretHash      = "fedcba9876543210fedcba9876543210"
	secretPhone     = "+79991234567"
	secretShort     = "+7999123" // 7 digits: the mask must still hide some
	secretPassword  = "s3cretPw"
	secretMTProxy   = "ee0123456789abcdef0123456789abcdef"
	secretCodeHash  = "phc0dehash42"
	secretSession   = "AuthKeyS3cret"
	secretSealerKey = "k3y-bytes-of-the-sealer-32bytes!"
)

// secretsOf lists the substrings that betray the secrets.
func secretsOf() []string {
	raw, _ := hex.DecodeString(secretMTProxy)
	return []string{
		secretHash, secretPhone, strings.TrimPrefix(secretPhone, "+"), "9991234", "1234567",
		secretShort, strings.TrimPrefix(secretShort, "+"), "99912",
		secretPassword, secretMTProxy, secretMTProxy[2:], string(raw[1:]),
		secretCodeHash, secretSession, secretSealerKey,
		hex.EncodeToString([]byte(secretPassword)), hex.EncodeToString([]byte(secretHash)),
	}
}

// renderings formats v every way fmt can, alone and inside other values,
// and with slog's JSON and text handlers.
func renderings(t *testing.T, v any) map[string]string {
	t.Helper()
	out := map[string]string{}
	type named struct {
		V   any
		Tag string
	}
	holders := map[string]any{
		"value":     v,
		"in struct": named{V: v, Tag: "t"},
		"in slice":  []any{v},
		"in map":    map[string]any{"k": v},
	}
	for hname, h := range holders {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T %v", "%20v", "%-30s"} {
			out[hname+" "+verb] = fmt.Sprintf(verb, h)
		}
		out[hname+" Sprint"] = fmt.Sprint(h)
		out[hname+" Sprintln"] = fmt.Sprintln(h)
	}
	for _, kind := range []string{"json", "text"} {
		var b bytes.Buffer
		var hd slog.Handler = slog.NewTextHandler(&b, nil)
		if kind == "json" {
			hd = slog.NewJSONHandler(&b, nil)
		}
		lg := slog.New(hd)
		lg.Info("any", slog.Any("v", v))
		lg.Info("kv", "v", v)
		lg.Info("group", slog.Group("g", slog.Any("v", v)))
		lg.With("v", v).Info("with")
		// Not inside a slice, map or struct field: the JSON handler
		// encodes those with encoding/json, and the JSON forms of Account
		// and CodeState are their stored forms (secrets included).
		out["slog "+kind] = b.String()
	}
	return out
}

func TestSecretsNeverRendered(t *testing.T) {
	sealer, err := chatter.NewSealer("k1", map[string][]byte{"k1": []byte(secretSealerKey)})
	require.NoError(t, err)
	store := chattertest.NewMemStore()
	lease, err := store.AcquireLease(t.Context(), "ws", chatter.SessionLeaseName("acc1"), "me", time.Minute)
	require.NoError(t, err)
	sessions := tgparse.NewSessionStorage(store, sealer, "ws", "acc1", lease)
	require.NoError(t, sessions.StoreSession(t.Context(), []byte(secretSession)))

	socks := tgparse.Account{ID: "sales1", Phone: secretPhone, APIID: 17349, APIHash: secretHash,
		Device: tgparse.Device{Model: "Desktop"}, Proxy: "socks5://proxyuser:" + secretPassword + "@10.0.0.1:1080"}
	mt := tgparse.Account{ID: "sales2", Phone: secretShort, APIID: 17349, APIHash: secretHash, Proxy: "mtproxy://10.0.0.2:443?secret=" + secretMTProxy}
	bad := tgparse.Account{ID: "sales3", Phone: secretPhone, APIHash: secretHash, Proxy: "socks5://u:" + secretPassword + "@host:port-not-a-number"}
	sp, err := tgparse.ParseProxy(socks.Proxy)
	require.NoError(t, err)
	mp, err := tgparse.ParseProxy(mt.Proxy)
	require.NoError(t, err)
	state := tgparse.CodeState{Account: "sales1", Phone: secretPhone, PhoneCodeHash: secretCodeHash, Type: "app",
		SentAt: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC), Self: &tgparse.Self{ID: 7, Username: "anna"}}

	type embedsAccount struct {
		tgparse.Account
		Note string
	}
	type embedsPointer struct {
		*tgparse.CodeState
		Note string
	}
	type embedsProxy struct {
		tgparse.Proxy
	}
	type embedsSessions struct {
		*tgparse.SessionStorage
	}
	values := map[string]any{
		"account socks5": socks, "account mtproxy": mt, "account bad proxy": bad, "*account": &socks,
		"proxy socks5": sp, "proxy mtproxy": mp, "*proxy": &mp,
		"code state": state, "*code state": &state,
		"session storage":   sessions,
		"embedding account": embedsAccount{Account: socks, Note: "n"}, "*embedding account": &embedsAccount{Account: mt},
		"embedding *code state": embedsPointer{CodeState: &state}, "embedding proxy": embedsProxy{sp},
		"embedding sessions": embedsSessions{sessions},
	}
	for name, v := range values {
		for how, s := range renderings(t, v) {
			for _, secret := range secretsOf() {
				if strings.Contains(s, secret) {
					t.Errorf("%s, %s: shows %q:\n%s", name, how, secret, s)
				}
			}
		}
	}

	// The renderings still say what the value is.
	for _, tc := range []struct{ got, want string }{
		{fmt.Sprint(socks), "sales1 (+7999***4567)"},
		{fmt.Sprint(mt), "sales2 (+7***23)"},
		{fmt.Sprintf("%#v", socks), `tgparse.Account{ID:"sales1", Phone:"+7999***4567", APIID:17349, APIHash:"[redacted]", Device:tgparse.Device{Model:"Desktop", System:"", AppVersion:"", LangCode:""}, Proxy:"socks5://proxyuser:***@10.0.0.1:1080"}`},
		{fmt.Sprintf("%#v", bad), `tgparse.Account{ID:"sales3", Phone:"+7999***4567", APIID:0, APIHash:"[redacted]", Device:tgparse.Device{Model:"", System:"", AppVersion:"", LangCode:""}, Proxy:"[redacted]"}`},
		{fmt.Sprint(sp), "socks5://proxyuser:***@10.0.0.1:1080"},
		{fmt.Sprintf("%+v", &mp), "mtproxy://10.0.0.2:443?secret=***"},
		{fmt.Sprintf("%#v", sp), `tgparse.Proxy{Kind:"socks5", Addr:"10.0.0.1:1080", User:"proxyuser", Password:"[redacted]", Secret:""}`},
		{fmt.Sprint(state), "code state of sales1 (+7999***4567): sent by app"},
		{fmt.Sprintf("%v", sessions), "tgparse.SessionStorage(ws/acc1)"},
		{fmt.Sprintf("%+v", embedsAccount{Account: socks}), "sales1 (+7999***4567)"},
		{fmt.Sprintf("%q", socks), `"sales1 (+7999***4567)"`},
	} {
		if diff := cmp.Diff(tc.want, tc.got); diff != "" {
			t.Errorf("rendering (-want +got):\n%s", diff)
		}
	}
	var b bytes.Buffer
	slog.New(slog.NewJSONHandler(&b, nil)).Info("x", "account", socks, "state", state)
	require.Contains(t, b.String(), `"account":{"id":"sales1","phone":"+7999***4567","proxy":"socks5://proxyuser:***@10.0.0.1:1080"}`)
	require.Contains(t, b.String(), `"state":{"account":"sales1","phone":"+7999***4567","type":"app","authorized":false`)

	// The store still gets the secrets: the JSON form is what is sealed.
	got, err := sessions.LoadSession(t.Context())
	require.NoError(t, err)
	require.Equal(t, secretSession, string(got))
}
