package amocrmsink_test

import (
	"context"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/amocrm"
	"github.com/chatterhq/sdk/amocrm/amocrmtest"
	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/amocrmsink"
	"github.com/chatterhq/sdk/chatter/sqlitestore"
)

// BenchmarkResumeAfterKill measures what a kill -9 costs a deployment: a
// child process (SQLite, River, amocrmsink, as in the crash test) delivers
// 240 messages from 120 people into amocrmtest enforcing amoCRM's 7
// requests per second and its block after repeated 429s; it is killed
// mid-delivery and started again at once. Per kill it reports:
//
//   - resume-ms: restart → the first lead or note written after it;
//   - inflight-ms: restart → every message that was being delivered at the
//     kill delivered (what waited for River's rescuer and the dead
//     process's leases before instances);
//   - 429s: amoCRM's 429 answers over the whole run.
//
// Variants: "instance" (the restart is the same chatter instance, the
// store-backed budget), "no-instance" (River's rescuer after 30 s, the
// default for this job timeout, and one-minute leases: the SDK before),
// and "local-limiter" (instance, but each process paces itself: what the
// budget replaced).
//
//	go test -run '^$' -bench BenchmarkResumeAfterKill -benchtime 2x ./chatter/amocrmsink/
func BenchmarkResumeAfterKill(b *testing.B) {
	for _, v := range []struct {
		name string
		env  []string
	}{
		{"instance", []string{"CRASH_INSTANCE=bench"}},
		{"no-instance", []string{"CRASH_INSTANCE=", "CRASH_RESCUE=30s"}},
		{"local-limiter", []string{"CRASH_INSTANCE=bench", "CRASH_LIMITER=local"}},
	} {
		b.Run(v.name, func(b *testing.B) {
			var resume, inflight time.Duration
			var count429 int
			for range b.N {
				r, f, c := resumeOnce(b, v.env)
				resume += r
				inflight += f
				count429 += c
			}
			b.ReportMetric(float64(resume.Milliseconds())/float64(b.N), "resume-ms")
			b.ReportMetric(float64(inflight.Milliseconds())/float64(b.N), "inflight-ms")
			b.ReportMetric(float64(count429)/float64(b.N), "429s")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// resumeOnce runs one kill and restart (see BenchmarkResumeAfterKill).
func resumeOnce(b *testing.B, variant []string) (resume, inflight time.Duration, n429 int) {
	b.Helper()
	dir := b.TempDir()
	input, _ := writeInput(b, dir, 240, 120)
	srv := amocrmtest.New(amocrmtest.WithSeed(amocrmtest.DemoAccount))
	marker := int(srv.AddCustomField(amocrmtest.EntityLeads, amocrmtest.CustomField{Name: amocrmsink.DefaultMarkerFieldName, Type: amocrmtest.FieldText, IsAPIOnly: true}).ID)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(b, err)
	require.NoError(b, ln.Close())
	require.NoError(b, srv.Start(ln.Addr().String()))
	defer srv.Close()
	db := filepath.Join(dir, "chatter.db")
	env := append(crashEnv(srv, srv.LongLivedToken(time.Hour), marker, input, "sqlite", db, ""),
		"CRASH_INTERVAL="+amocrm.DefaultInterval.String())
	env = append(env, variant...)

	c := startChild(b, env)
	// Kill it in the middle of the deliveries.
	deadline := time.Now().Add(2 * time.Minute)
	for writes(srv, time.Time{}) < 40 {
		require.True(b, time.Now().Before(deadline), "no deliveries: %s", c.out.String())
		time.Sleep(5 * time.Millisecond)
	}
	c.kill()
	b.Logf("killed after %d writes", writes(srv, time.Time{}))
	st, err := sqlitestore.Open(context.Background(), db, sqlitestore.Config{})
	require.NoError(b, err)
	defer st.Close()
	var flying []chatter.Key
	for _, e := range ledger(b, st) {
		if e.State == chatter.StateDelivering {
			flying = append(flying, e.Key)
		}
	}
	b.Logf("%d in flight", len(flying))
	restart := time.Now()
	c = startChild(b, env)
	finished := false
	defer func() {
		if !finished {
			c.kill()
		}
	}()
	for resume == 0 || inflight == 0 {
		require.True(b, time.Since(restart) < 5*time.Minute, "not resumed: %s", c.out.String())
		if resume == 0 && writes(srv, restart) > 0 {
			resume = time.Since(restart)
		}
		if inflight == 0 && allDelivered(b, st, flying) {
			inflight = time.Since(restart)
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.Logf("resumed in %s, in flight delivered in %s", resume, inflight)
	select {
	case err := <-c.done:
		finished = true
		require.NoError(b, err, c.out.String())
	case <-time.After(3 * time.Minute):
		n := 0
		for _, r := range srv.Requests() {
			if r.Status == 429 || r.Status == 403 {
				n++
			}
		}
		blocked, until := srv.Blocked()
		b.Fatalf("the restart did not finish (%d 429/403, blocked %v until %s): %s", n, blocked, until, c.out.String())
	}
	for _, r := range srv.Requests() {
		if r.Status == 429 {
			n429++
		}
	}
	return resume, inflight, n429
}

// writes counts the leads and notes amoCRM accepted after since.
func writes(srv *amocrmtest.Server, since time.Time) int {
	n := 0
	for _, r := range srv.Requests() {
		if (r.Method == "POST" || r.Method == "PATCH") && r.Status < 300 && r.Time.After(since) &&
			(strings.Contains(r.Path, "/leads") || strings.Contains(r.Path, "/notes")) {
			n++
		}
	}
	return n
}

// ledger is every entry of the workspace.
func ledger(b *testing.B, st *sqlitestore.Store) []*chatter.LedgerEntry {
	es, err := st.ListEntries(context.Background(), chatter.LedgerQuery{Workspace: ws, Limit: 1000})
	require.NoError(b, err)
	return es
}

// allDelivered reports whether every message of keys is delivered.
func allDelivered(b *testing.B, st *sqlitestore.Store, keys []chatter.Key) bool {
	for _, e := range ledger(b, st) {
		if slices.Contains(keys, e.Key) && e.State != chatter.StateDelivered {
			return false
		}
	}
	return true
}
