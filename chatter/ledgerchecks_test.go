package chatter_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/chattertest"
)

func TestRejectedCheck(t *testing.T) {
	t.Parallel()
	clock := newSimClock()
	store := chattertest.NewMemStore(chattertest.WithClock(clock.Now))
	p, err := chatter.NewPipeline(chatter.PipelineConfig{Store: store, Sink: chattertest.NewRecordingSink(), Now: clock.Now})
	require.NoError(t, err)
	check := chatter.RejectedCheck(store, "ws", 0, clock.Now)
	require.Equal(t, "ledger.rejected", check.Name())

	// Nothing refused: ok.
	_, err = p.Accept(t.Context(), chattertest.NewMessage("ws", -100, 1, ""))
	require.NoError(t, err)
	r := check.Run(t.Context())
	require.Equal(t, chatter.StatusOK, r.Status, "%+v", r)

	// A refused message: warn, with the reason of the latest, ru and en.
	bad := chattertest.NewMessage("ws", -100, 2, "")
	bad.Text = "ремонт \xff"
	res, err := p.Accept(t.Context(), bad)
	require.NoError(t, err)
	require.Equal(t, chatter.StateRejected, res.State)
	r = check.Run(t.Context())
	require.Equal(t, chatter.StatusWarn, r.Status, "%+v", r)
	for _, want := range []string{"1", bad.Key.String(), "UTF-8"} {
		require.Contains(t, r.Cause.RU, want)
		require.Contains(t, r.Cause.EN, want)
	}
	require.NotEmpty(t, r.Remedy.RU)
	require.NotEmpty(t, r.Remedy.EN)
	require.Equal(t, "text", r.Details["last_field"])

	// Outside the window it no longer counts.
	clock.Advance(chatter.DefaultRejectedWindow + time.Minute)
	r = check.Run(t.Context())
	require.Equal(t, chatter.StatusOK, r.Status, "%+v", r)

	// A store failure is a failed check.
	failing := chatter.RejectedCheck(brokenLedger{store}, "ws", time.Hour, clock.Now)
	r = failing.Run(t.Context())
	require.Equal(t, chatter.StatusFail, r.Status)
	require.True(t, strings.Contains(r.Cause.EN, "disk I/O"), "%+v", r.Cause)
}

type brokenLedger struct{ chatter.MessageStore }

func (brokenLedger) CountEntries(context.Context, chatter.LedgerQuery) (map[chatter.State]int, error) {
	return nil, errors.New("disk I/O error")
}
