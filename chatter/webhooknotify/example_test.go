package webhooknotify_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/webhooknotify"
)

// A receiver verifies the signature and the replay window before trusting a
// notification.
func Example() {
	secret := []byte("a-long-shared-secret")
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err := webhooknotify.Verify(secret, r.Header, body, time.Now(), 0); err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		got <- r.Header.Get(webhooknotify.HeaderEvent)
	}))
	defer srv.Close()

	// The receiver here is on loopback, which the address guard refuses
	// unless told otherwise; a real receiver has a public address.
	n, err := webhooknotify.New(webhooknotify.Config{URLs: []string{srv.URL}, Secret: secret, AllowPrivate: true})
	if err != nil {
		panic(err)
	}
	err = n.Notify(context.Background(), &chatter.Notification{
		Type:  chatter.NotifyAccountBlocked,
		Title: chatter.T("amoCRM заблокировал аккаунт", "amoCRM blocked the account"),
	})
	fmt.Println(err, <-got)
	// Output: <nil> account_blocked
}
