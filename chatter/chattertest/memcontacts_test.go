package chattertest_test

import (
	"testing"

	"github.com/chatterhq/sdk/chatter/chattertest"
)

func TestMemStoreContactLister(t *testing.T) {
	chattertest.TestContactLister(t, func(*testing.T) chattertest.ContactListerStore { return chattertest.NewMemStore() })
}
