package chattertest_test

import (
	"testing"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/chattertest"
)

func TestMemStore(t *testing.T) {
	chattertest.TestStore(t, func(t *testing.T) chatter.Store { return chattertest.NewMemStore() })
}
