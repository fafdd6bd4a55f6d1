package sqlitestore_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/chattertest"
	"github.com/chatterhq/sdk/chatter/sqlitestore"
)

// TestStore runs the shared conformance suite, one fresh database file per
// subtest.
func TestStore(t *testing.T) {
	chattertest.TestStore(t, func(t *testing.T) chatter.Store {
		return openAt(t, filepath.Join(t.TempDir(), "conformance.db"), sqlitestore.Config{
			Queue: sqlitestore.QueueTuning{FetchPollInterval: 100 * time.Millisecond},
		})
	})
}
