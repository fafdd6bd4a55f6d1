package doctor_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/chattertest"
	"github.com/chatterhq/sdk/examples/server/internal/doctor"
)

func result(name, guide string, st chatter.Status) chatter.Check {
	return chatter.CheckFunc(name, func(context.Context) chatter.CheckResult {
		r := chatter.CheckResult{Title: chatter.T("проверка "+name, "check "+name), Status: st, Guide: guide}
		if st != chatter.StatusOK {
			r.Cause = chatter.T("причина "+name, "cause "+name)
			r.Remedy = chatter.T("решение "+name, "remedy "+name)
		}
		return r
	})
}

func TestReportGroupsByGuideProblem(t *testing.T) {
	checks := []chatter.Check{
		result("bot.token", chatter.GuideBotSilent, chatter.StatusFail),
		result("bot.webhook", chatter.GuideBotSilent, chatter.StatusOK),
		result("amo.rate", chatter.GuideRateLimit, chatter.StatusWarn),
		result("odd", "something else", chatter.StatusOK),
	}
	r := doctor.Run(context.Background(), checks, chatter.CheckOptions{})
	got := map[string][]string{}
	status := map[string]chatter.Status{}
	for _, g := range r.Groups {
		status[g.Problem.ID] = g.Status
		for _, res := range g.Results {
			got[g.Problem.ID] = append(got[g.Problem.ID], res.Name)
		}
	}
	want := map[string][]string{
		chatter.GuideBotSilent: {"bot.token", "bot.webhook"}, // worst first
		chatter.GuideRateLimit: {"amo.rate"},
		doctor.GuideSystem:     {"odd"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("groups (-want +got):\n%s", d)
	}
	require.Len(t, r.Groups, 11, "the server group and the guide's ten problems")
	require.Equal(t, chatter.StatusFail, status[chatter.GuideBotSilent])
	require.Equal(t, chatter.StatusSkip, status[chatter.GuideLogin])
	require.Equal(t, chatter.StatusFail, r.Status)
	require.Equal(t, 2, r.ExitCode())

	var ru, en bytes.Buffer
	require.NoError(t, r.WriteText(&ru, "ru", false))
	require.NoError(t, r.WriteText(&en, "en", false))
	for _, s := range []string{"Telegram бот не отвечает", "ОШИБКА", "причина bot.token", "решение bot.token", "Ошибка 429 Too Many Requests"} {
		require.Contains(t, ru.String(), s)
	}
	for _, s := range []string{"The Telegram bot does not respond", "FAIL", "cause bot.token", "remedy bot.token"} {
		require.Contains(t, en.String(), s)
	}
	require.NotContains(t, ru.String(), "Проблем не найдено")
}

func TestExitCodes(t *testing.T) {
	for _, tc := range []struct {
		st   chatter.Status
		code int
	}{{chatter.StatusOK, 0}, {chatter.StatusSkip, 0}, {chatter.StatusWarn, 1}, {chatter.StatusFail, 2}} {
		r := doctor.Run(context.Background(), []chatter.Check{result("x", chatter.GuideSlow, tc.st)}, chatter.CheckOptions{})
		require.Equal(t, tc.code, r.ExitCode(), "status %s", tc.st)
	}
	r := doctor.Run(context.Background(), nil, chatter.CheckOptions{})
	var b bytes.Buffer
	require.NoError(t, r.WriteText(&b, "ru", false))
	require.Contains(t, b.String(), "Проблем не найдено.")
}

func TestReportJSONRoundTrip(t *testing.T) {
	r := doctor.Run(context.Background(), []chatter.Check{result("a", chatter.GuideFields, chatter.StatusWarn)}, chatter.CheckOptions{})
	var b bytes.Buffer
	require.NoError(t, r.WriteJSON(&b))
	back, err := doctor.ReadJSON(&b)
	require.NoError(t, err)
	if d := cmp.Diff(r, back); d != "" {
		t.Fatalf("round trip (-want +got):\n%s", d)
	}
	_, err = doctor.ReadJSON(strings.NewReader(`{"status":"ok"}`))
	require.Error(t, err)
	_, err = doctor.ReadJSON(strings.NewReader(`<html>`))
	require.Error(t, err)
}

func TestClockSkew(t *testing.T) {
	for _, tc := range []struct {
		skew time.Duration
		want chatter.Status
	}{{0, chatter.StatusOK}, {2 * time.Minute, chatter.StatusWarn}, {-10 * time.Minute, chatter.StatusFail}} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Date", time.Now().Add(tc.skew).UTC().Format(http.TimeFormat))
		}))
		res := doctor.ClockSkew(srv.Client(), srv.URL, nil).Run(context.Background())
		srv.Close()
		require.Equal(t, tc.want, res.Status, "skew %s: %+v", tc.skew, res)
		require.Equal(t, chatter.GuideAmoCRMAuth, res.Guide)
	}
}

func TestPublicURL(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "/healthz", r.URL.Path)
		w.Header().Set(doctor.InstanceHeader, "me")
	}))
	defer srv.Close()
	ctx := context.Background()
	res := doctor.PublicURL(srv.Client(), srv.URL, "me", true).Run(ctx)
	require.Equal(t, chatter.StatusWarn, res.Status, "http, not https: %+v", res)
	res = doctor.PublicURL(srv.Client(), srv.URL, "someone else", true).Run(ctx)
	require.Equal(t, chatter.StatusFail, res.Status)
	res = doctor.PublicURL(srv.Client(), "", "me", true).Run(ctx)
	require.Equal(t, chatter.StatusFail, res.Status)
	require.Contains(t, res.Remedy.RU, "http.public_url")
	res = doctor.PublicURL(srv.Client(), "", "me", false).Run(ctx)
	require.Equal(t, chatter.StatusSkip, res.Status)
	res = doctor.PublicURL(srv.Client(), "http://127.0.0.1:1", "me", true).Run(ctx)
	require.Equal(t, chatter.StatusFail, res.Status)
}

func TestDiskSpace(t *testing.T) {
	res := doctor.DiskSpace(t.TempDir()).Run(context.Background())
	require.Contains(t, []chatter.Status{chatter.StatusOK, chatter.StatusWarn, chatter.StatusFail, chatter.StatusSkip}, res.Status)
	if res.Status != chatter.StatusSkip {
		require.NotEmpty(t, res.Details["free_bytes"])
	}
	res = doctor.DiskSpace("/no/such/dir/for/chatter").Run(context.Background())
	require.Equal(t, chatter.StatusFail, res.Status)
}

func msg(ws string, id int64) *chatter.Message {
	return &chatter.Message{Workspace: ws, Key: chatter.Key{Source: chatter.SourceBot, Account: "1", ChatID: 7, MessageID: id},
		Text: "Здравствуйте", Time: time.Now(), Sender: chatter.Sender{ID: 7, FirstName: "Анна"}}
}

func TestQueueAndDead(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	clock := func() time.Time { return now }
	st := chattertest.NewMemStore(chattertest.WithClock(clock))
	res := doctor.Queue(st, "ws", clock).Run(ctx)
	require.Equal(t, chatter.StatusOK, res.Status)
	require.Equal(t, "0", res.Details["depth"])

	for i := range 3 {
		_, err := st.SaveMessage(ctx, msg("ws", int64(i+1)), chatter.AcceptOptions{Verdict: chatter.Verdict{Accept: true}, MaxAttempts: 1, Priority: 1})
		require.NoError(t, err)
	}
	later := func() time.Time { return now.Add(20 * time.Minute) }
	res = doctor.Queue(st, "ws", later).Run(ctx)
	require.Equal(t, chatter.StatusWarn, res.Status, "%+v", res)
	require.Equal(t, "3", res.Details["depth"])
	require.Equal(t, (20 * time.Minute).String(), res.Details["oldest_age"])
	res = doctor.Queue(st, "ws", func() time.Time { return now.Add(3 * time.Hour) }).Run(ctx)
	require.Equal(t, chatter.StatusFail, res.Status)

	// Deliver with a permanent failure: the messages go dead.
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	var n int
	go func() {
		done <- st.Work(wctx, chatter.QueueConfig{Workers: 1}, func(ctx context.Context, j *chatter.Job) chatter.Outcome {
			n++
			if n == 3 {
				defer cancel()
			}
			return chatter.Outcome{Kind: chatter.OutcomeDead, Class: chatter.ClassRights, Err: "no rights to create leads"}
		})
	}()
	require.NoError(t, <-done)
	res = doctor.Dead(st, "ws", clock).Run(ctx)
	require.Equal(t, chatter.StatusFail, res.Status, "%+v", res)
	require.Equal(t, "3", res.Details["dead"])
	require.Equal(t, "no rights to create leads", res.Details["last_error"])
	require.Equal(t, chatter.GuideDelivery, res.Guide)
	res = doctor.Dead(st, "other", clock).Run(ctx)
	require.Equal(t, chatter.StatusOK, res.Status)
}

func TestBundleHasNoSecret(t *testing.T) {
	secrets := []string{"1234567:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "s3cr\"et-with-quote", "long-lived-token-xyz"}
	r := doctor.Run(context.Background(), []chatter.Check{chatter.CheckFunc("leaky", func(context.Context) chatter.CheckResult {
		return chatter.CheckResult{Status: chatter.StatusFail, Cause: chatter.T("токен "+secrets[0], "token "+secrets[0]), Guide: chatter.GuideBotSilent}
	})}, chatter.CheckOptions{})
	b := doctor.Bundle{
		Build:  doctor.CurrentBuild("test"),
		Config: map[string]any{"password": secrets[1], "token": "[REDACTED]"},
		Report: r,
		Events: []chatter.Event{{ID: 1, Workspace: "ws", Level: 8, Text: "refresh failed for " + secrets[2]}},
		Ledger: map[string]map[chatter.State]int{"ws": {chatter.StateDead: 2}},
		Extra:  map[string]any{"queue.json": map[string]int{"depth": 3}},
	}
	b.Secrets = secrets
	var buf bytes.Buffer
	require.NoError(t, b.Write(&buf))
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	require.NoError(t, err)
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		rc, err := f.Open()
		require.NoError(t, err)
		data, err := io.ReadAll(rc)
		require.NoError(t, err)
		rc.Close()
		for _, s := range secrets {
			require.NotContains(t, string(data), s, "file %s", f.Name)
			js, _ := json.Marshal(s)
			require.NotContains(t, string(data), string(js[1:len(js)-1]), "file %s (JSON-escaped)", f.Name)
		}
		if f.Name == "checks.json" {
			require.Contains(t, string(data), doctor.Redacted)
		}
	}
	want := []string{"build.json", "config.json", "checks.json", "checks.txt", "events.jsonl", "ledger.json", "queue.json"}
	if d := cmp.Diff(want, names); d != "" {
		t.Fatalf("files (-want +got):\n%s", d)
	}
}
