package sqlitestore_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/chattertest"
	"github.com/chatterhq/sdk/chatter/sqlitestore"
)

// A message that passes Message.Validate but that the store refuses on its
// own checks (here a link that is not valid UTF-8) is recorded as rejected
// too, not lost: Pipeline.Accept returns nil and the ledger has it.
func TestPipelineRecordsStoreRefusedMessage(t *testing.T) {
	s, _ := newStore(t, sqlitestore.Config{})
	p, err := chatter.NewPipeline(chatter.PipelineConfig{Store: s, Sink: chattertest.NewRecordingSink()})
	require.NoError(t, err)
	m := msg("ws", -7, 1)
	m.Link = "https://t.me/c/1/\xff"
	require.NoError(t, m.Validate(), "the message must pass Validate for this test")
	r, err := p.Accept(t.Context(), m)
	require.NoError(t, err)
	require.Equal(t, chatter.StateRejected, r.State)
	require.NotNil(t, r.Rejection)
	require.Equal(t, "link", r.Rejection.Field)
	e, err := s.GetEntry(t.Context(), "ws", m.Key)
	require.NoError(t, err)
	require.Equal(t, chatter.StateRejected, e.State)
	require.Equal(t, "https://t.me/c/1/\uFFFD", e.Message.Link)

	// The same in a batch: only that message is rejected.
	bad := msg("ws", -7, 2)
	bad.Link = m.Link
	rs, err := p.AcceptBatch(t.Context(), []*chatter.Message{msg("ws", -7, 3), bad})
	require.NoError(t, err)
	require.Equal(t, []chatter.State{chatter.StateQueued, chatter.StateRejected}, []chatter.State{rs[0].State, rs[1].State})
}
