package demo

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter/keyword"
	"github.com/chatterhq/sdk/tgbot"
)

// The pace is kept by waiting Interval between events, 1/Rate give or take
// Jitter, on a clock the test owns: no real time passes.
func TestGeneratorKeepsThePace(t *testing.T) {
	env := startEnv(t, t.TempDir())
	for _, rate := range []float64{0, 4} {
		var waits []time.Duration
		g, err := NewGenerator(env, GeneratorConfig{Seed: 3, Rate: rate, Conversations: 15,
			Wait: func(ctx context.Context, d time.Duration) error { waits = append(waits, d); return ctx.Err() }})
		require.NoError(t, err)
		start := g.Position()
		require.NoError(t, g.Run(context.Background()))
		played := g.Position() - start
		require.Len(t, waits, played-1, "one wait between two events, none before the first")
		r := rate
		if r == 0 {
			r = DefaultRate
		}
		period := time.Duration(float64(time.Second) / r)
		var sum time.Duration
		for i, d := range waits {
			require.Equal(t, Interval(3, start+1+i, r), d)
			require.GreaterOrEqual(t, d, time.Duration(float64(period)*(1-Jitter)))
			require.LessOrEqual(t, d, time.Duration(float64(period)*(1+Jitter)))
			sum += d
		}
		mean := float64(sum) / float64(len(waits))
		require.InDelta(t, float64(period), mean, float64(period)*0.06, "mean interval over %d events", len(waits))
		require.NotEqual(t, waits[0], waits[1], "intervals jitter")
	}
	// Over many events the mean converges on 1/Rate.
	var sum time.Duration
	for seq := range 10_000 {
		sum += Interval(9, seq, DefaultRate)
	}
	require.InDelta(t, 2.0, (sum / 10_000).Seconds(), 0.01)
}

// Cancelling the wait stops Run without an error; the event not yet played
// is not counted, and the next Run plays it.
func TestGeneratorStopsOnCancel(t *testing.T) {
	env := startEnv(t, t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	g, err := NewGenerator(env, GeneratorConfig{Seed: 4, Wait: func(ctx context.Context, _ time.Duration) error {
		if n++; n == 5 {
			cancel()
		}
		return ctx.Err()
	}})
	require.NoError(t, err)
	require.NoError(t, g.Run(ctx))
	require.Equal(t, 5, g.Position())
	require.Len(t, g.Played(), 5)

	g2, err := NewGenerator(env, GeneratorConfig{Seed: 4, Conversations: 1, Wait: noWait})
	require.NoError(t, err)
	require.NoError(t, g2.Run(context.Background()))
	require.Equal(t, 5, g2.Played()[0].Seq, "the next run starts with the next event")
}

// Two fresh worlds played with the same seed get the same events with the
// same chats and message ids.
func TestGeneratorIsDeterministic(t *testing.T) {
	var runs [2][]Played
	for i := range runs {
		env := startEnv(t, t.TempDir())
		g, err := NewGenerator(env, GeneratorConfig{Seed: 21, Conversations: 14, Wait: noWait})
		require.NoError(t, err)
		require.NoError(t, g.Run(context.Background()))
		runs[i] = g.Played()
		require.Equal(t, ScriptLen(21, 14), g.Position())
		var evs []Event
		for _, p := range runs[i] {
			evs = append(evs, p.Event)
		}
		if diff := cmp.Diff(Script(21, g.Position()), evs); diff != "" {
			t.Fatalf("played events differ from the script (-script +played):\n%s", diff)
		}
	}
	if diff := cmp.Diff(runs[0], runs[1], cmpopts.IgnoreFields(Played{}, "Time", "Revision")); diff != "" {
		t.Fatalf("two runs with one seed differ (-first +second):\n%s", diff)
	}
}

func TestGeneratorRefusesAnotherSeed(t *testing.T) {
	dir := t.TempDir()
	env := startEnv(t, dir)
	g, err := NewGenerator(env, GeneratorConfig{Seed: 1, Conversations: 1, Wait: noWait})
	require.NoError(t, err)
	require.NoError(t, g.Run(context.Background()))
	_, err = NewGenerator(env, GeneratorConfig{Seed: 2})
	var se *SeedError
	require.True(t, errors.As(err, &se), "got %v", err)
	require.Equal(t, SeedError{Saved: 1, Given: 2}, *se)
	require.Contains(t, se.Message().RU, "зерном 1")
	require.NoError(t, env.Close())

	env2 := startEnv(t, dir)
	_, err = NewGenerator(env2, GeneratorConfig{Seed: 2})
	require.True(t, errors.As(err, &se), "the seed is kept across starts: %v", err)
	_, err = NewGenerator(env2, GeneratorConfig{Seed: 1})
	require.NoError(t, err)
}

func TestGeneratorConfigErrors(t *testing.T) {
	_, err := NewGenerator(nil, GeneratorConfig{})
	require.Error(t, err)
	env := &Env{}
	for _, cfg := range []GeneratorConfig{{Rate: -1}, {Rate: math.NaN()}, {Rate: math.Inf(1)}, {Conversations: -1}} {
		_, err := NewGenerator(env, cfg)
		require.Error(t, err, "%+v", cfg)
	}
	g, err := NewGenerator(env, GeneratorConfig{})
	require.NoError(t, err)
	require.Equal(t, DefaultRate, g.cfg.Rate)
}

// What the generator made the fakes emit is what Plan counts: the bot's
// updates (read through the proxy and normalised as tgbot does: distinct
// keys, repeats, edits, contacts) and the groups' posts (read with a real
// tgparse source: posts, re-posts, filtered by the keyword rules).
func TestPlanMatchesWhatTheFakesEmit(t *testing.T) {
	env := startEnv(t, t.TempDir())
	const seed, n = 8, 30
	g, err := NewGenerator(env, GeneratorConfig{Seed: seed, Conversations: n, Wait: noWait})
	require.NoError(t, err)
	require.NoError(t, g.Run(context.Background()))
	plan, err := Plan(seed, g.Position())
	require.NoError(t, err)
	require.GreaterOrEqual(t, plan.Conversations, n)
	set, err := keyword.Compile(Keywords())
	require.NoError(t, err)

	got := Expectation{Events: g.Position(), Conversations: plan.Conversations}
	keys := map[string]bool{}
	for _, raw := range drainBot(t, env) {
		var u tgbot.Update
		require.NoError(t, json.Unmarshal(raw.Raw, &u))
		m, err := tgbot.Normalize(&u, tgbot.NormalizeOptions{Workspace: "demo", BotID: env.BotID})
		require.NoError(t, err)
		require.NotNil(t, m)
		if keys[m.Key.String()] {
			got.BotRepeats++
			continue
		}
		keys[m.Key.String()] = true
		got.BotUpdates++
		if m.Edited {
			got.BotEdits++
		}
		if m.Sender.Phone != "" {
			got.BotContacts++
		}
		if set.Filter(m).Accept {
			got.Delivered++
		}
	}
	pw := newParserWorld(t)
	pw.signIn(t, env)
	seen := map[string]bool{}
	for _, m := range pw.readGroups(t, env, plan.GroupPosts) {
		require.False(t, keys[m.Key.String()])
		keys[m.Key.String()] = true
		got.GroupPosts++
		who := m.Sender.Username + "\x00" + m.Text
		if seen[who] {
			got.Reposts++
		}
		seen[who] = true
		if set.Filter(m).Accept {
			got.Delivered++
		} else {
			got.Filtered++
		}
	}
	want := *plan
	want.Leads, want.Contacts, want.Notes, want.CustomerNotes, want.People, want.Phones = 0, 0, 0, 0, nil, nil
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("emitted vs planned (-plan +emitted):\n%s", diff)
	}
	require.Positive(t, plan.BotRepeats)
	require.Positive(t, plan.BotEdits)
	require.Positive(t, plan.Reposts)
	require.Positive(t, plan.Filtered)
	require.Equal(t, plan.Delivered, plan.Notes)
}

// In webhook mode the proxy relays the fake's deliveries to the server's
// URL (which getWebhookInfo keeps showing) with the secret token, and
// delivers each repeat a second time after the first was answered.
func TestRepeatsInWebhookMode(t *testing.T) {
	env := startEnv(t, t.TempDir())
	ctx := context.Background()
	const secret = "demo-secret_1"
	var mu sync.Mutex
	ids := map[int64]int{}
	bad := 0
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var u struct {
			UpdateID int64 `json:"update_id"`
		}
		err := json.NewDecoder(r.Body).Decode(&u)
		mu.Lock()
		defer mu.Unlock()
		if err != nil || r.Header.Get("X-Telegram-Bot-Api-Secret-Token") != secret {
			bad++
		}
		ids[u.UpdateID]++
	}))
	defer recv.Close()
	bot, err := tgbot.NewClient(env.BotToken, tgbot.WithBaseURL(env.BotAPIURL))
	require.NoError(t, err)
	hook := recv.URL + "/telegram/webhook"
	require.NoError(t, bot.SetWebhook(ctx, &tgbot.SetWebhookParams{URL: hook, SecretToken: secret}))
	info, err := bot.GetWebhookInfo(ctx)
	require.NoError(t, err)
	require.Equal(t, hook, info.URL, "getWebhookInfo shows the server's URL, not the relay")

	g, err := NewGenerator(env, GeneratorConfig{Seed: 6, Conversations: len(templates), Wait: noWait})
	require.NoError(t, err)
	require.NoError(t, g.Run(ctx))
	plan, err := Plan(6, g.Position())
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(ids) == plan.BotUpdates && env.bot.bot.Pending() == 0
	}, 20*time.Second, 10*time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	twice := 0
	for _, n := range ids {
		require.LessOrEqual(t, n, 2)
		if n == 2 {
			twice++
		}
	}
	require.Equal(t, plan.BotRepeats, twice)
	require.Positive(t, twice)
	require.Zero(t, bad)
}
