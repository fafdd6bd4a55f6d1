package chatter_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter"
)

// TestErrorClassTexts: the cause and remedy of a class are the texts the
// notification of a dead delivery carries, in both languages.
func TestErrorClassTexts(t *testing.T) {
	t.Parallel()
	m := &chatter.Message{Workspace: "w", Key: chatter.Key{Source: chatter.SourceBot, Account: "b", ChatID: 1, MessageID: 2}}
	for _, c := range []chatter.ErrorClass{chatter.ClassAuth, chatter.ClassRights, chatter.ClassMapping, chatter.ClassRateLimited,
		chatter.ClassBlocked, chatter.ClassPayment, chatter.ClassTransient, chatter.ClassPermanent, chatter.ClassInternal,
		chatter.ClassInvalid, "other"} {
		cause := c.Cause()
		require.NotEmpty(t, cause.RU, c)
		require.NotEmpty(t, cause.EN, c)
		n := chatter.DeliveryFailedNotification(m, 3, c, "boom")
		require.True(t, strings.Contains(n.Body.RU, cause.RU) && strings.Contains(n.Body.EN, cause.EN), "%s: %q", c, n.Body)
		if r := c.Remedy(); !r.IsZero() {
			require.True(t, strings.Contains(n.Body.RU, r.RU) && strings.Contains(n.Body.EN, r.EN), "%s: %q", c, n.Body)
		}
	}
	require.NotEmpty(t, chatter.ClassMapping.Remedy().RU)
	require.True(t, chatter.ClassPermanent.Remedy().IsZero())
}
