package amocrmsink_test

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/amocrm"
	"github.com/chatterhq/sdk/amocrm/amocrmtest"
	"github.com/chatterhq/sdk/chatter/amocrmsink"
	"github.com/chatterhq/sdk/chatter/chattertest"
	"github.com/chatterhq/sdk/fieldmap"
)

// TestStatsWiredInOnePlace: Config.Stats counts every request of the
// client without the caller wiring a hook, and once when NewClient was
// given the same value.
func TestStatsWiredInOnePlace(t *testing.T) {
	crm := amocrmtest.New(amocrmtest.WithSeed(amocrmtest.DemoAccount))
	srv := httptest.NewServer(crm)
	defer srv.Close()
	spec, err := fieldmap.ParseSpec([]byte("lead:\n  name: '{{ text }}'\n"), fieldmap.FormatYAML)
	require.NoError(t, err)
	mapper, err := fieldmap.Compile(spec)
	require.NoError(t, err)
	store := chattertest.NewMemStore()
	newSink := func(c *amocrm.Client, stats *amocrmsink.RequestStats) {
		_, err := amocrmsink.New(amocrmsink.Config{Client: c, Mapper: mapper, Contacts: store, Leases: store, MarkerField: 1, Stats: stats})
		require.NoError(t, err)
	}

	// A plain client and a sink: no hook wired by the caller.
	plain, err := amocrm.NewClient(crm.Account().Subdomain, amocrm.WithBaseURL(srv.URL), amocrm.WithLongLivedToken(crm.LongLivedToken(time.Hour)))
	require.NoError(t, err)
	stats := amocrmsink.NewRequestStats(nil)
	newSink(plain, stats)
	newSink(plain, stats) // a second sink on the same client and stats
	_, _, err = plain.Account.Get(t.Context(), nil)
	require.NoError(t, err)
	n, _ := stats.Totals()
	require.EqualValues(t, 1, n, "one request, counted once")

	// NewClient and New given the same stats.
	shared := amocrmsink.NewRequestStats(nil)
	c, err := amocrmsink.NewClient(amocrmsink.ClientConfig{Store: store, Workspace: "ws", Account: crm.Account().Subdomain,
		BaseURL: srv.URL, LongLivedToken: crm.LongLivedToken(time.Hour), Stats: shared})
	require.NoError(t, err)
	newSink(c, shared)
	_, _, err = c.Account.Get(t.Context(), nil)
	require.NoError(t, err)
	n, _ = shared.Totals()
	require.EqualValues(t, 1, n, "one request, counted once")
}
