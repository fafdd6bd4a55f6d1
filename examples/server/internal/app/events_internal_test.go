package app

import (
	"bytes"
	"context"
	"log/slog"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/chattertest"
)

func TestPerMessageLinesStayOutOfTheEventLog(t *testing.T) {
	st := chattertest.NewMemStore()
	var out bytes.Buffer
	base := slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug})
	ev, err := chatter.NewEventLog(st, base, chatter.EventLogConfig{Workspace: "ws"})
	require.NoError(t, err)
	log := slog.New(&perMessage{events: ev, next: base})
	log.Info("message accepted", chatter.AttrCategory, chatter.CategoryDelivery)
	log.Info("message filtered out", chatter.AttrCategory, chatter.CategoryFilter)
	log.With(chatter.AttrCategory, chatter.CategoryDelivery).Info("message delivered")
	log.Warn("delivery snoozed", chatter.AttrCategory, chatter.CategoryDelivery)
	log.Info("login", chatter.AttrCategory, chatter.CategoryAuth)
	log.With(chatter.AttrWorkspace, "ws").Info("server started", chatter.AttrCategory, chatter.CategorySystem)
	require.NoError(t, ev.Flush(context.Background()))
	evs, err := st.ListEvents(context.Background(), chatter.EventQuery{Workspace: "ws"})
	require.NoError(t, err)
	var got []string
	for i := len(evs) - 1; i >= 0; i-- {
		got = append(got, evs[i].Text)
	}
	if d := cmp.Diff([]string{"delivery snoozed", "login", "server started"}, got); d != "" {
		t.Fatalf("event log (-want +got):\n%s", d)
	}
	for _, line := range []string{"message accepted", "message filtered out", "message delivered", "delivery snoozed", "login"} {
		require.Contains(t, out.String(), line, "every line reaches the process log")
	}
}
