package deliveryqueue

import (
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"
)

// TestNextRetryRescuedJobRunsAtOnce: River asks NextRetry both after a run
// whose Work returned an error and when its rescuer takes back a job whose
// process died. Only the first backs off; a rescued job runs again at once,
// however many runs it had (River's attempt grows with each).
func TestNextRetryRescuedJobRunsAtOnce(t *testing.T) {
	w := &deliveryWorker[pgx.Tx, *riverpgxv5.Driver]{}
	job := func(id int64, attempt int) *river.Job[DeliveryArgs] {
		return &river.Job[DeliveryArgs]{JobRow: &rivertype.JobRow{ID: id, Attempt: attempt}}
	}
	before := time.Now()
	require.WithinDuration(t, before, w.NextRetry(job(1, 4)), time.Second, "a rescued job (no failure in this process) runs at once")

	w.noteFailure(2, errors.New("record outcome: connection reset"))
	require.WithinDuration(t, before.Add(8*time.Second), w.NextRetry(job(2, 4)), time.Second, "after a database error: 1 s << (attempt-1)")
	require.WithinDuration(t, time.Now(), w.NextRetry(job(2, 5)), time.Second, "the failure is forgotten once asked about")

	w.noteFailure(3, river.JobSnooze(time.Minute))
	w.noteFailure(3, river.JobCancel(errors.New("dead")))
	w.noteFailure(3, nil)
	_, kept := w.failed.Load(int64(3))
	require.False(t, kept, "snoozes, cancels and successes are not failures River retries")
}
