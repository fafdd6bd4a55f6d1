package demo

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/amocrm/amocrmtest"
	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/chattertest"
	"github.com/chatterhq/sdk/tgparse"
)

// startEnv starts the demo world on dir and closes it when the test ends
// (a test may Close it earlier to restart on the same directory).
func startEnv(t *testing.T, dir string) *Env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	env, err := Start(ctx, Config{Dir: dir,
		// No pacing: the tests' clients are not rate limited.
		AmoCRMOptions: []amocrmtest.Option{amocrmtest.WithRateLimit(amocrmtest.RateLimit{PerSecond: -1, BlockAfter: -1})}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = env.Close() })
	return env
}

// noWait is a GeneratorConfig.Wait that does not wait.
func noWait(ctx context.Context, _ time.Duration) error { return ctx.Err() }

// botUpdates drains the bot's updates through the proxy (as a poller does)
// and returns them in order, duplicates included.
type rawUpdate struct {
	UpdateID      int64        `json:"update_id"`
	Message       *wireMessage `json:"message"`
	EditedMessage *wireMessage `json:"edited_message"`

	Raw json.RawMessage `json:"-"`
}

func drainBot(t *testing.T, env *Env) []rawUpdate {
	t.Helper()
	var all []rawUpdate
	var offset int64
	for {
		got := botGet(t, env, offset)
		if len(got) == 0 {
			return all
		}
		all = append(all, got...)
		offset = got[len(got)-1].UpdateID + 1
	}
}

// botGet calls getUpdates through the proxy with offset (0: none, which
// confirms nothing).
func botGet(t *testing.T, env *Env, offset int64) []rawUpdate {
	t.Helper()
	q := url.Values{"timeout": {"0"}, "limit": {"100"}}
	if offset > 0 {
		q.Set("offset", strconv.FormatInt(offset, 10))
	}
	resp, err := http.Get(env.BotAPIURL + "/bot" + env.BotToken + "/getUpdates?" + q.Encode())
	require.NoError(t, err)
	defer resp.Body.Close()
	var body struct {
		OK     bool              `json:"ok"`
		Result []json.RawMessage `json:"result"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	require.True(t, body.OK)
	out := make([]rawUpdate, len(body.Result))
	for i, raw := range body.Result {
		require.NoError(t, json.Unmarshal(raw, &out[i]))
		out[i].Raw = raw
	}
	return out
}

// parserWorld is what a tgparse source needs, in a store that outlives the
// fakes (as the server's SQLite file does).
type parserWorld struct {
	store  *chattertest.MemStore
	sealer *chatter.Sealer
}

func newParserWorld(t *testing.T) *parserWorld {
	t.Helper()
	sealer, err := chatter.NewSealer("k1", map[string][]byte{"k1": make([]byte, 32)})
	require.NoError(t, err)
	return &parserWorld{store: chattertest.NewMemStore(), sealer: sealer}
}

const testWorkspace = "demo"

func (pw *parserWorld) conn(env *Env) tgparse.Connection {
	return tgparse.Connection{Workspace: testWorkspace, Store: pw.store, Sealer: pw.sealer,
		Endpoint: env.TelegramEndpoint, Holder: "demo-test", LeaseTTL: 3 * time.Second}
}

// signIn signs the parser account in on env, as the server does on every
// start.
func (pw *parserWorld) signIn(t *testing.T, env *Env) *tgparse.Self {
	t.Helper()
	accounts, err := tgparse.NewAccountStore(pw.store, pw.sealer, testWorkspace)
	require.NoError(t, err)
	login, err := tgparse.NewLogin(pw.conn(env), accounts)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	self, err := env.SignInParser(ctx, login)
	require.NoError(t, err)
	return self
}

// readGroups runs a tgparse source over the two groups until it has
// handed want messages (or fails the test after a while), and returns
// them. The checkpoints stay in the store: the next call continues.
func (pw *parserWorld) readGroups(t *testing.T, env *Env, want int) []*chatter.Message {
	t.Helper()
	var chats []tgparse.ChatConfig
	for _, g := range env.Groups {
		chats = append(chats, tgparse.ChatConfig{Ref: g.Ref})
	}
	src, err := tgparse.NewSource(tgparse.SourceConfig{Connection: pw.conn(env), Accounts: []tgparse.Account{env.ParserAccount},
		Chats: chats, Depth: tgparse.Depth{Count: 1000}, PollInterval: 200 * time.Millisecond})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	got := make(chan *chatter.Message, 10_000)
	done := make(chan error, 1)
	go func() {
		done <- src.Run(ctx, chatter.HandlerFunc(func(_ context.Context, m *chatter.Message) error {
			got <- m
			return nil
		}))
	}()
	var out []*chatter.Message
	settle := time.NewTimer(time.Hour)
	defer settle.Stop()
	if want == 0 {
		settle.Reset(time.Second)
	}
	for {
		select {
		case m := <-got:
			out = append(out, m)
			if len(out) == want {
				// Wait a little for anything beyond want, then stop.
				settle.Reset(300 * time.Millisecond)
			}
		case <-settle.C:
			cancel()
			require.NoError(t, <-done)
			for {
				select {
				case m := <-got:
					out = append(out, m)
				default:
					return out
				}
			}
		case <-ctx.Done():
			t.Fatalf("tgparse source handed %d messages, want %d", len(out), want)
		}
	}
}
