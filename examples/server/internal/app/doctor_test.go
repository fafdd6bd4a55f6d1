package app_test

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/amocrm/amocrmtest"
	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/examples/server/internal/apptest"
	"github.com/chatterhq/sdk/examples/server/internal/config"
	"github.com/chatterhq/sdk/examples/server/internal/doctor"
)

// failures returns the failed checks of the report by guide problem.
func failures(r *doctor.Report) map[string][]chatter.CheckResult {
	out := map[string][]chatter.CheckResult{}
	for _, g := range r.Groups {
		for _, res := range g.Results {
			if res.Status == chatter.StatusFail {
				out[g.Problem.ID] = append(out[g.Problem.ID], res)
			}
		}
	}
	return out
}

func names(rs []chatter.CheckResult) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Name+": "+r.Cause.EN)
	}
	return out
}

// requireProblem checks that the report names problem guide with a check
// whose remedy (ru) says remedy.
func requireProblem(t *testing.T, r *doctor.Report, guide, remedy string) {
	t.Helper()
	f := failures(r)
	require.NotEmpty(t, f[guide], "no failed check under %s; failures: %v", guide, f)
	for _, res := range f[guide] {
		require.False(t, res.Cause.IsZero(), "%s has no cause", res.Name)
		require.NotEmpty(t, res.Cause.EN, "%s has no English cause", res.Name)
		if strings.Contains(res.Remedy.RU, remedy) {
			require.NotEmpty(t, res.Remedy.EN, "%s has no English remedy", res.Name)
			return
		}
	}
	t.Fatalf("no check under %s gives the remedy %q: %v", guide, remedy, names(f[guide]))
}

func doctorOf(t *testing.T, o apptest.Options) (*apptest.Harness, *doctor.Report) {
	t.Helper()
	o.NoParser, o.NoRun = true, true
	h := apptest.Start(t, o)
	return h, h.App.Doctor(context.Background())
}

func TestDoctorHealthy(t *testing.T) {
	_, r := doctorOf(t, apptest.Options{})
	require.Empty(t, failures(r), "a healthy demo set-up")
	require.Less(t, r.ExitCode(), 2)
}

func TestDoctorWrongBotToken(t *testing.T) {
	_, r := doctorOf(t, apptest.Options{Configure: func(c *config.Config) {
		c.Workspaces[0].Bots[0].Token = "7000000001:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	}})
	requireProblem(t, r, chatter.GuideBotSilent, "токен")
	require.Equal(t, 2, r.ExitCode())
}

func TestDoctorRevokedAmoCRMToken(t *testing.T) {
	h, _ := doctorOf(t, apptest.Options{})
	h.Env.AmoCRM.RevokeToken(h.Env.AmoCRMToken)
	r := h.App.Doctor(context.Background())
	requireProblem(t, r, chatter.GuideAmoCRMAuth, "ключ")
}

func TestDoctorMissingField(t *testing.T) {
	_, r := doctorOf(t, apptest.Options{Configure: func(c *config.Config) {
		spec := c.Workspaces[0].Mapping.Inline
		spec.Lead.Fields = append(spec.Lead.Fields, spec.Lead.Fields[0])
		spec.Lead.Fields[len(spec.Lead.Fields)-1].Name = "Бюджет проекта"
		spec.Lead.Fields[len(spec.Lead.Fields)-1].ID = 0
	}})
	requireProblem(t, r, chatter.GuideFields, "Сопоставление полей")
}

func TestDoctorBlockedAccount(t *testing.T) {
	h, _ := doctorOf(t, apptest.Options{})
	h.Env.AmoCRM.InjectFault(amocrmtest.Fault{Status: 403})
	r := h.App.Doctor(context.Background())
	requireProblem(t, r, chatter.GuideRateLimit, "поддержк")
}

func TestDoctorSMTPDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().(*net.TCPAddr)
	ln.Close() // nothing listens there now
	_, r := doctorOf(t, apptest.Options{Configure: func(c *config.Config) {
		c.Workspaces[0].Notifications.SMTP = config.SMTP{Host: "127.0.0.1", Port: addr.Port, From: "chatter@example.com", TLS: config.TLSNone}
		c.Workspaces[0].Notifications.Email = []config.EmailRoute{{To: []string{"sales@example.com"}}}
	}})
	requireProblem(t, r, chatter.GuideNotifications, "SMTP")
}
