package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestServerResumesAfterKill kills the server (a real process) with SIGKILL
// while it delivers, starts it again on the same data directory, and
// checks that every message becomes exactly one lead. The deliveries the
// killed process had running would otherwise wait for River's rescuer (3 ×
// the two-minute job timeout) and the people's leases (a minute): the
// restart is the same instance (its id kept in the data directory), so it
// takes them back at once, well within the wait below.
func TestServerResumesAfterKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills server processes")
	}
	w := newBenchWorld(t)
	var log syncBuffer
	cmd, _ := w.startLogging(t, &log)
	id, err := os.ReadFile(filepath.Join(w.dir, "data", "instance"))
	require.NoError(t, err, "the instance id is kept in the data directory")

	const people = 40
	for i := range people {
		user := 200000 + i
		body := fmt.Sprintf(`{"update_id":%d,"message":{"message_id":%d,"date":%d,"chat":{"id":%d,"type":"private","first_name":"Клиент %d"},`+
			`"from":{"id":%d,"is_bot":false,"first_name":"Клиент %d","language_code":"ru"},"text":"Здравствуйте! Нужен ремонт, заявка %d"}}`,
			i+1, i+1, time.Now().Unix(), user, user, user, user, i)
		// Telegram repeats an update the server refused (503 while the
		// bot's endpoint is still starting).
		for attempt := 0; ; attempt++ {
			req, err := http.NewRequest(http.MethodPost, w.hook, strings.NewReader(body))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Telegram-Bot-Api-Secret-Token", benchSecret)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			if resp.StatusCode == http.StatusServiceUnavailable && attempt < 100 {
				time.Sleep(100 * time.Millisecond)
				continue
			}
			require.Equal(t, http.StatusOK, resp.StatusCode)
			break
		}
	}
	// Ours, not the demo account's own: the mapping names them so.
	ours := func() int {
		n := 0
		for _, l := range w.fake.Leads() {
			if strings.HasPrefix(l.Name, "Клиент ") {
				n++
			}
		}
		return n
	}
	// amoCRM takes 7 requests a second: kill the server in the middle.
	waitLeads := func(n int, limit time.Duration) {
		t.Helper()
		for deadline := time.Now().Add(limit); ours() < n; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d leads of %d after %s:\n%s", ours(), n, limit, log.String())
			}
		}
	}
	waitLeads(5, time.Minute)
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	killedAt := ours()
	require.Less(t, killedAt, people, "killed before the end")

	cmd, _ = w.startLogging(t, &log)
	defer stopChild(t, cmd)
	waitLeads(people, 90*time.Second)
	time.Sleep(2 * time.Second) // a duplicate would show up now
	require.Equal(t, people, ours(), "one lead per person, none twice")
	again, err := os.ReadFile(filepath.Join(w.dir, "data", "instance"))
	require.NoError(t, err)
	require.Equal(t, string(id), string(again))
	t.Logf("killed at %d leads of %d; instance %s", killedAt, people, strings.TrimSpace(string(id)))
}
