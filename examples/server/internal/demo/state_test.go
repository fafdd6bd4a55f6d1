package demo

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/amocrm"
)

// A damaged data directory stops Start with an error naming the file; it
// never starts over on top of it (which would lose or duplicate leads).
func TestStartRefusesDamagedState(t *testing.T) {
	for name, damage := range map[string]string{
		StateFile:  `{"version": 1, "bot": {`,
		AmoCRMFile: `not json`,
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			env := startEnv(t, dir)
			require.NoError(t, env.Close())
			require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(damage), 0o600))
			_, err := Start(context.Background(), Config{Dir: dir})
			require.ErrorContains(t, err, name)
		})
	}
	t.Run("version", func(t *testing.T) {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, StateFile), []byte(`{"version": 99}`), 0o600))
		_, err := Start(context.Background(), Config{Dir: dir})
		require.ErrorContains(t, err, "unknown version 99")
	})
	t.Run("history", func(t *testing.T) {
		dir := t.TempDir()
		env := startEnv(t, dir)
		g, err := NewGenerator(env, GeneratorConfig{Seed: 1, Conversations: 6, Wait: noWait})
		require.NoError(t, err)
		require.NoError(t, g.Run(context.Background()))
		require.NoError(t, env.Close())
		path := filepath.Join(dir, HistoryFile)
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		lines := strings.SplitAfter(string(data), "\n")
		require.Greater(t, len(lines), 3)
		lines[1] = "{broken\n"
		require.NoError(t, os.WriteFile(path, []byte(strings.Join(lines, "")), 0o600))
		_, err = Start(context.Background(), Config{Dir: dir})
		require.ErrorContains(t, err, HistoryFile)
	})
}

// A post torn by a crash (the last line of the history half written) is
// cut off, and the groups continue from the post before it.
func TestStartCutsATornHistoryLine(t *testing.T) {
	dir := t.TempDir()
	env := startEnv(t, dir)
	g, err := NewGenerator(env, GeneratorConfig{Seed: 1, Conversations: 6, Wait: noWait})
	require.NoError(t, err)
	require.NoError(t, g.Run(context.Background()))
	require.NoError(t, env.Close())
	path := filepath.Join(dir, HistoryFile)
	whole, err := os.ReadFile(path)
	require.NoError(t, err)
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString(`{"group":0,"person":1,"id":`)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	env2 := startEnv(t, dir)
	after, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, string(whole), string(after))
	id, _, err := env2.tg.post(0, 0, "Нужен ремонт кухни")
	require.NoError(t, err)
	require.Equal(t, env2.tg.lastID[0], id)
}

// When the amoCRM state cannot be written, the request that changed it is
// answered 504, as amoCRM answers a write that may or may not have
// happened: the sink then adopts it by its marker instead of trusting it.
func TestAmoCRMWriteNotSavedIsAnsweredAsAmbiguous(t *testing.T) {
	dir := t.TempDir()
	env := startEnv(t, dir)
	path := filepath.Join(dir, AmoCRMFile)
	require.NoError(t, os.Remove(path))
	require.NoError(t, os.Mkdir(path, 0o700)) // the rename over it fails
	client, err := amocrm.NewClient(env.AmoCRMSubdomain, amocrm.WithBaseURL(env.AmoCRMURL),
		amocrm.WithLongLivedToken(env.AmoCRMToken), amocrm.WithTimeout(5*time.Second))
	require.NoError(t, err)
	_, resp, err := client.Leads.Create(context.Background(), []*amocrm.Lead{{Name: "Заявка"}})
	require.Error(t, err)
	if resp != nil {
		require.Equal(t, http.StatusGatewayTimeout, resp.StatusCode)
	}
	var unknown *amocrm.OutcomeUnknownError
	require.ErrorAs(t, err, &unknown)
	// Reads still work.
	_, _, err = client.Account.Get(context.Background(), nil)
	require.NoError(t, err)
	require.NoError(t, os.Remove(path))
}

func TestGeneratorOnClosedEnv(t *testing.T) {
	env := startEnv(t, t.TempDir())
	g, err := NewGenerator(env, GeneratorConfig{Seed: 1, Wait: noWait})
	require.NoError(t, err)
	require.NoError(t, env.Close())
	require.ErrorContains(t, g.Run(context.Background()), "closed")
	require.Zero(t, g.Position())
}
