package sqlitestore_test

import (
	"testing"

	"github.com/chatterhq/sdk/chatter/chattertest"
	"github.com/chatterhq/sdk/chatter/sqlitestore"
)

func TestContactLister(t *testing.T) {
	chattertest.TestContactLister(t, func(t *testing.T) chattertest.ContactListerStore {
		s, _ := newStore(t, sqlitestore.Config{})
		return s
	})
}
