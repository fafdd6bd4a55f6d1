package amocrmsink_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/amocrm"
	"github.com/chatterhq/sdk/amocrm/amocrmtest"
	"github.com/chatterhq/sdk/chatter/amocrmsink"
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
