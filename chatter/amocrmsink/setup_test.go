package amocrmsink_test

import (
	"context"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/amocrm"
	"github.com/chatterhq/sdk/amocrm/amocrmtest"
	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/amocrmsink"
	"github.com/chatterhq/sdk/chatter/chattertest"
)

// TestEnsureMarkerFieldCreates: on an account without the marker field,
// EnsureMarkerField creates it (API-only text) and a second call finds it.
func TestEnsureMarkerFieldCreates(t *testing.T) {
	crm := amocrmtest.New(amocrmtest.WithSeed(amocrmtest.DemoAccount))
	srv := httptest.NewServer(crm)
	defer srv.Close()
	c, err := amocrm.NewClient(crm.Account().Subdomain, amocrm.WithBaseURL(srv.URL), amocrm.WithLongLivedToken(crm.LongLivedToken(time.Hour)))
	require.NoError(t, err)
	ctx := context.Background()
	id, err := amocrmsink.EnsureMarkerField(ctx, c, "")
	require.NoError(t, err)
	require.NotZero(t, id)
	again, err := amocrmsink.EnsureMarkerField(ctx, c, "")
	require.NoError(t, err)
	require.Equal(t, id, again, "found, not created twice")
	n := 0
	for _, f := range crm.CustomFields(amocrmtest.EntityLeads) {
		if f.Name == amocrmsink.DefaultMarkerFieldName {
			n++
			require.True(t, f.IsAPIOnly)
			require.Equal(t, amocrmtest.FieldText, f.Type)
		}
	}
	require.Equal(t, 1, n)
}

// TestEnsureMarkerFieldConcurrentFirstStarts: three instances start
// together on an account without the marker field (the field list is slow,
// so their look-ups overlap). Sharing a store, they create one field and all
// use it; without the lease (the control) they create several.
func TestEnsureMarkerFieldConcurrentFirstStarts(t *testing.T) {
	run := func(shared bool) (ids []int, fields int) {
		crm := amocrmtest.New(amocrmtest.WithSeed(amocrmtest.DemoAccount))
		crm.InjectFault(amocrmtest.Fault{Method: "GET", PathPrefix: "/api/v4/leads/custom_fields", Latency: 150 * time.Millisecond})
		srv := httptest.NewServer(crm)
		defer srv.Close()
		store := chattertest.NewMemStore()
		ids = make([]int, 3)
		errs := make([]error, 3)
		var wg sync.WaitGroup
		for i := range 3 {
			c, err := amocrm.NewClient(crm.Account().Subdomain, amocrm.WithBaseURL(srv.URL), amocrm.WithLongLivedToken(crm.LongLivedToken(time.Hour)))
			require.NoError(t, err)
			wg.Go(func() {
				if shared {
					ids[i], errs[i] = amocrmsink.EnsureMarkerFieldShared(t.Context(), c, store, "ws", "instance-"+strconv.Itoa(i), "")
				} else {
					ids[i], errs[i] = amocrmsink.EnsureMarkerField(t.Context(), c, "")
				}
			})
		}
		wg.Wait()
		for _, err := range errs {
			require.NoError(t, err)
		}
		for _, f := range crm.CustomFields(amocrmtest.EntityLeads) {
			if f.Name == amocrmsink.DefaultMarkerFieldName {
				fields++
			}
		}
		return ids, fields
	}
	ids, fields := run(true)
	if d := cmp.Diff([]int{ids[0], ids[0], ids[0]}, ids); d != "" || fields != 1 {
		t.Errorf("shared: %d fields, ids (-want +got):\n%s", fields, d)
	}
	_, fields = run(false)
	require.Greater(t, fields, 1, "the control: without the lease, concurrent first starts create several fields")

	_, err := amocrmsink.EnsureMarkerFieldShared(t.Context(), nil, nil, "ws", "h", "")
	require.ErrorIs(t, err, chatter.ErrInvalid)
}
