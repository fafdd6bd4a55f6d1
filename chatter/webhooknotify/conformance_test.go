package webhooknotify_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/chattertest"
	"github.com/chatterhq/sdk/chatter/webhooknotify"
)

// The notifier passes the shared notifier suite: a receiver that verifies
// the signature decodes every notification back.
func TestConformance(t *testing.T) {
	secret := []byte("conformance-secret-0123")
	var mu sync.Mutex
	var got []*chatter.Notification
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := webhooknotify.Verify(secret, r.Header, body, time.Now(), 0); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var p webhooknotify.Payload
		if err := json.Unmarshal(body, &p); err != nil || p.Notification == nil {
			http.Error(w, "bad payload", http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = append(got, p.Notification)
		mu.Unlock()
	}))
	defer srv.Close()
	n, err := webhooknotify.New(webhooknotify.Config{URLs: []string{srv.URL}, Secret: secret, MaxAttempts: 1, AllowPrivate: true})
	if err != nil {
		t.Fatal(err)
	}
	chattertest.TestNotifier(t, n, func() []*chatter.Notification {
		mu.Lock()
		defer mu.Unlock()
		return append([]*chatter.Notification(nil), got...)
	})
}
