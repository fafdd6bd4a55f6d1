package pgstore_test

import (
	"testing"

	"github.com/chatterhq/sdk/chatter/chattertest"
)

func TestContactLister(t *testing.T) {
	chattertest.TestContactLister(t, func(t *testing.T) chattertest.ContactListerStore {
		s, _ := newStore(t)
		return s
	})
}
