package chatter

import (
	"cmp"
	"context"
	"fmt"
	"strconv"
	"time"
)

// DefaultRejectedWindow is how far back RejectedCheck looks by default.
const DefaultRejectedWindow = 24 * time.Hour

// RejectedCheck is the diagnostic "ledger.rejected": it warns when messages
// of workspace were refused at intake (StateRejected) within window before
// now, with how many and the reason of the latest, and is ok otherwise. A
// zero window means DefaultRejectedWindow; a nil now means time.Now.
func RejectedCheck(store MessageStore, workspace string, window time.Duration, now func() time.Time) Check {
	window = cmp.Or(window, DefaultRejectedWindow)
	if now == nil {
		now = time.Now
	}
	return CheckFunc("ledger.rejected", func(ctx context.Context) CheckResult {
		r := CheckResult{Title: T("Отклонённые сообщения", "Messages refused at intake")}
		q := LedgerQuery{Workspace: workspace, From: now().Add(-window), States: []State{StateRejected}, Limit: 1}
		counts, err := store.CountEntries(ctx, q)
		if err != nil {
			r.Status = StatusFail
			r.Cause = T("не удалось прочитать журнал сообщений: "+err.Error(), "the message log cannot be read: "+err.Error())
			r.Remedy = T("Проверьте подключение к базе данных.", "Check the database connection.")
			return r
		}
		n := counts[StateRejected]
		r.Details = map[string]string{"count": strconv.Itoa(n), "window": window.String()}
		if n == 0 {
			r.Status = StatusOK
			return r
		}
		es, err := store.ListEntries(ctx, q)
		if err != nil || len(es) == 0 {
			r.Status = StatusFail
			r.Cause = T(fmt.Sprintf("не удалось прочитать журнал сообщений: %v", err), fmt.Sprintf("the message log cannot be read: %v", err))
			return r
		}
		last := es[0]
		reason := T("причина не записана", "no reason recorded")
		if last.Rejection != nil {
			reason = last.Rejection.Text()
			r.Details["last_field"] = last.Rejection.Field
			if last.Rejection.Key != "" {
				r.Details["last_source_key"] = last.Rejection.Key
			}
		}
		r.Details["last_key"] = last.Key.String()
		r.Details["last_received_at"] = last.ReceivedAt.UTC().Format(time.RFC3339)
		r.Status = StatusWarn
		r.Cause = T(
			fmt.Sprintf("Отклонено сообщений за %s: %d. Последнее (%s): %s.", durationText(window).RU, n, last.Key, reason.RU),
			fmt.Sprintf("%d message(s) refused in the last %s. The latest (%s): %s.", n, durationText(window).EN, last.Key, reason.EN))
		r.Remedy = classRemedy(ClassInvalid)
		return r
	})
}
