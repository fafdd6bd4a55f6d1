package pgstore_test

import (
	"testing"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/chattertest"
)

// TestStore runs the shared conformance suite; every subtest gets its own
// schema (and pool).
func TestStore(t *testing.T) {
	testURL(t)
	chattertest.TestStore(t, func(t *testing.T) chatter.Store {
		s, _ := newStore(t)
		return s
	})
}
