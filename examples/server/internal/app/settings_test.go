package app_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/examples/server/internal/apptest"
	"github.com/chatterhq/sdk/examples/server/internal/config"
)

// TestUpdateWorkspace changes a running workspace's settings as the admin
// UI does: a bad change is refused with its problems' paths and changes
// nothing; a good one restarts the workspace's parts, is kept (sealed) in
// the store and wins over the file at the next start, while the history
// stays.
func TestUpdateWorkspace(t *testing.T) {
	dir := t.TempDir()
	h := apptest.Start(t, apptest.Options{Dir: dir, NoParser: true})
	ctx := context.Background()
	play(t, h, 2)
	before := settle(t, h, 1)

	wc, ok := h.App.WorkspaceConfig("demo")
	require.True(t, ok)
	bad := wc
	bad.Bots = append([]config.Bot(nil), wc.Bots...)
	bad.Bots[0].Token = "not a token"
	bad.AmoCRM.Lookup = "everywhere"
	err := h.App.UpdateWorkspace(ctx, bad, "admin")
	var probs config.Problems
	require.True(t, errors.As(err, &probs), "%v", err)
	require.ElementsMatch(t, []string{"workspaces[0].bots[0].token", "workspaces[0].amocrm.lookup"}, probs.Paths())
	got, _ := h.App.WorkspaceConfig("demo")
	require.Equal(t, wc.Bots[0].Token, got.Bots[0].Token, "a refused change changes nothing")

	good := wc
	good.Name = "Продажи (sales)"
	good.Keywords.Rules = []string{"ремонт"}
	require.NoError(t, h.App.UpdateWorkspace(ctx, good, "admin"))
	got, _ = h.App.WorkspaceConfig("demo")
	require.Equal(t, "Продажи (sales)", got.Name)

	// The bot runs again under the new settings and delivers.
	play(t, h, 2)
	after := settle(t, h, 2)
	require.Greater(t, after[chatter.StateDelivered], before[chatter.StateDelivered])

	// The next start takes the UI's settings, not the file's (the harness
	// passes the demo workspace as the file's).
	h.Stop(t)
	h = apptest.Start(t, apptest.Options{Dir: dir, NoParser: true})
	got, _ = h.App.WorkspaceConfig("demo")
	require.Equal(t, "Продажи (sales)", got.Name)
	require.Equal(t, []string{"ремонт"}, got.Keywords.Rules)
	counts, err := h.App.Store().CountEntries(ctx, chatter.LedgerQuery{Workspace: "demo"})
	require.NoError(t, err)
	require.Equal(t, after[chatter.StateDelivered], counts[chatter.StateDelivered], "the history is kept")
}
