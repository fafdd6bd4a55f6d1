package auth_test

import (
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/chattertest"
	"github.com/chatterhq/sdk/examples/server/internal/auth"
)

// TestEventsCarryNoSecrets drives every kind of event and checks that the
// log has each of them, with category, workspace, who and from where, and
// none of the passwords, hashes, tokens, tickets or session secrets used.
func TestEventsCarryNoSecrets(t *testing.T) {
	forEachStore(t, auth.Config{}, func(t *testing.T, e *env) {
		var secrets []string
		note := func(s ...string) { secrets = append(secrets, s...) }
		const (
			adminPw = "admin password one"
			userPw  = "user password two"
			newPw   = "user password three"
			resetPw = "user password four"
			setPw   = "admin set password five"
			tickPw  = "ticket password six"
		)
		note(adminPw, userPw, newPw, resetPw, setPw, tickPw)

		admin, err := e.svc.CreateFirstAdmin(e.ctx, auth.NewUser{Login: "root", Email: "root@example.com", Password: adminPw}, "10.0.0.1")
		require.NoError(t, err)
		by := admin.Actor("10.0.0.1")
		u, err := e.svc.Create(e.ctx, by, auth.NewUser{Login: "ivan", Email: "ivan@example.com", Role: auth.RoleManager, Password: userPw})
		require.NoError(t, err)

		_, err = e.svc.Authenticate(e.ctx, "ivan", userPw, "10.0.0.2")
		require.NoError(t, err)
		cookie, _, err := e.svc.CreateSession(e.ctx, u, "10.0.0.2", "Firefox")
		require.NoError(t, err)
		rotated, _, err := e.svc.RotateSession(e.ctx, cookie)
		require.NoError(t, err)
		note(cookie, rotated)
		// The user types the password into the login field.
		_, _ = e.svc.Authenticate(e.ctx, userPw, userPw, "10.0.0.2")
		_, _ = e.svc.Authenticate(e.ctx, "not-a-user@example.com", newPw, "10.0.0.2")
		for range 5 {
			_, _ = e.svc.Authenticate(e.ctx, "ivan", newPw, "10.0.0.3")
		}
		require.NoError(t, e.svc.Unlock(e.ctx, by, u.ID))
		_, err = e.svc.ChangePassword(e.ctx, u.ID, userPw, newPw, "10.0.0.2")
		require.NoError(t, err)
		token, _, err := e.svc.RequestReset(e.ctx, "ivan@example.com", "10.0.0.4")
		require.NoError(t, err)
		note(token)
		_, err = e.svc.ConsumeReset(e.ctx, token, resetPw, "10.0.0.4")
		require.NoError(t, err)
		_, _, _ = e.svc.RequestReset(e.ctx, "ghost@example.com", "10.0.0.4")
		require.NoError(t, e.svc.SetPassword(e.ctx, by, u.ID, setPw, true))
		_, err = e.svc.Authenticate(e.ctx, "ivan", setPw, "10.0.0.2")
		ticket, ok := auth.ChangeTicket(err)
		require.True(t, ok)
		note(ticket)
		_, err = e.svc.ChangePasswordWithTicket(e.ctx, ticket, tickPw, "10.0.0.2")
		require.NoError(t, err)
		require.NoError(t, e.svc.Block(e.ctx, by, u.ID))
		require.NoError(t, e.svc.Unblock(e.ctx, by, u.ID))
		require.NoError(t, e.svc.SetRole(e.ctx, by, u.ID, auth.RoleAdmin, nil))
		require.NoError(t, e.svc.SetLanguage(e.ctx, by, u.ID, auth.LangEN))
		require.NoError(t, e.svc.SetAccessExpiry(e.ctx, by, u.ID, t0.AddDate(1, 0, 0)))
		require.NoError(t, e.svc.ForcePasswordChange(e.ctx, by, u.ID, true))
		require.NoError(t, e.svc.SetProfile(e.ctx, by, u.ID, "Ivan", "ivan2@example.com"))
		require.NoError(t, e.svc.Delete(e.ctx, by, u.ID))

		// The hashes and session digests in the store are secrets too.
		rows, err := e.store.ListSettings(e.ctx, auth.ServerWorkspace, "")
		require.NoError(t, err)
		for _, r := range rows {
			var v map[string]any
			if json.Unmarshal(r.Value, &v) == nil {
				for _, k := range []string{"password_hash", "hash"} {
					if h, ok := v[k].(string); ok && h != "" {
						note(h)
						if i := strings.LastIndexByte(h, '$'); i > 0 {
							note(h[i+1:]) // the key alone
						}
					}
				}
			}
		}

		out := e.logs.String()
		for _, s := range secrets {
			require.NotContains(t, out, s)
			// Token secrets alone, without their ids.
			if i := strings.LastIndexByte(s, '.'); i > 0 && len(s)-i > 40 {
				require.NotContains(t, out, s[i+1:])
			}
		}

		var msgs []string
		for _, ev := range e.logs.events(t) {
			require.Empty(t, cmp.Diff("auth", ev[chatter.AttrCategory]), "%v", ev)
			require.Empty(t, cmp.Diff(auth.ServerWorkspace, ev[chatter.AttrWorkspace]), "%v", ev)
			msgs = append(msgs, ev["msg"].(string))
			if ev["msg"] == "login failed" || ev["msg"] == "login succeeded" {
				require.NotEmpty(t, ev["addr"], "%v", ev)
			}
			if ev["msg"] == "user blocked" {
				require.Empty(t, cmp.Diff(map[string]any{"by": "root", "by_id": admin.ID, "addr": "10.0.0.1", "user": "ivan"},
					map[string]any{"by": ev["by"], "by_id": ev["by_id"], "addr": ev["addr"], "user": ev["user"]}))
			}
		}
		for _, want := range []string{
			"user created", "login succeeded", "login failed", "account locked", "login refused", "user unlocked",
			"password changed", "password reset requested", "password reset", "password reset not sent",
			"password set by administrator", "user blocked", "user unblocked", "role changed", "language changed",
			"access expiry set", "password change forced", "profile changed", "user deleted",
		} {
			require.Contains(t, msgs, want)
		}
		// The password typed as a login shows as two characters and a length.
		require.Contains(t, out, `"attempt":"us… (17)"`)
		require.Contains(t, out, `"attempt":"not-a-user@example.com"`)
	})
}

// End to end with the operator's event log: auth events land in the store
// under ServerWorkspace, category auth, and nothing is redacted away.
func TestEventsReachTheEventLog(t *testing.T) {
	store := chattertest.NewMemStore()
	el, err := chatter.NewEventLog(store, nil, chatter.EventLogConfig{})
	require.NoError(t, err)
	svc, err := auth.New(store, auth.Config{Hash: cheapHash, MinResponse: -1, Logger: slog.New(el)})
	require.NoError(t, err)
	ctx := t.Context()
	u, err := svc.Create(ctx, auth.System("cli"), auth.NewUser{Login: "ivan", Email: "ivan@example.com", Role: auth.RoleManager, Password: goodPassword})
	require.NoError(t, err)
	_, err = svc.Authenticate(ctx, "ivan", "wrong wrong wrong", "192.0.2.10")
	require.ErrorIs(t, err, auth.ErrBadCredentials)
	require.NoError(t, el.Flush(ctx))

	evs, err := store.ListEvents(ctx, chatter.EventQuery{Workspace: auth.ServerWorkspace, Category: chatter.CategoryAuth})
	require.NoError(t, err)
	var got []string
	for _, ev := range evs {
		got = append(got, ev.Text)
		for k, v := range ev.Attrs {
			require.NotEqual(t, "[redacted]", v, "attribute %s was redacted: pick another key", k)
		}
	}
	slices.Reverse(got)
	require.Empty(t, cmp.Diff([]string{"user created", "login failed"}, got))
	require.Empty(t, cmp.Diff(map[string]string{"user": "ivan", "user_id": u.ID, "by": "ivan", "by_id": u.ID, "addr": "192.0.2.10", "reason": "wrong password", "failures": "1"},
		evs[0].Attrs))
}
