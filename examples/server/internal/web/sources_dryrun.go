package web

import (
	"context"
	"fmt"
	"sort"
	"time"
	"unicode/utf8"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/keyword"
	"github.com/chatterhq/sdk/examples/server/internal/config"
)

// A keyword dry run evaluates rules not saved yet against the messages
// stored over the last days and compares each verdict with the one the
// message has now (filtered, or taken): gained (would now be taken), lost
// (would now be filtered), unchanged, with the rule and words behind each
// change. It is keyword.DryRun's comparison, done here because the page
// shows each changed message with its chat, sender and ledger entry, skips
// messages refused at intake (they were never filtered nor taken), and
// reads bot messages only where the rules apply to them.

// Bounds of a dry run.
const (
	srcDryRunMaxDays     = 90
	srcDryRunDefaultDays = 7
	srcDryRunMaxMessages = 10_000
	srcDryRunSamples     = 50
	srcDryRunPage        = 500
	srcDryRunListMax     = 1000 // the most ListEntries returns
	srcDryRunExcerpt     = 200
)

// srcDryRunStates are the states of messages the filter decided on.
var srcDryRunStates = []chatter.State{chatter.StateFiltered, chatter.StateQueued, chatter.StateDelivering,
	chatter.StateDelivered, chatter.StateFailed, chatter.StateDead}

// srcDryRunOptions says which rules to try on which messages.
type srcDryRunOptions struct {
	Workspace string
	Set       *keyword.Set // the rules tried (a set without rules takes everything)
	// ApplyTo is the tried keywords.apply_to, Current the one in force:
	// bot messages are read when either is "all".
	ApplyTo, Current string
	From, To         time.Time
	// Max bounds the messages read; Samples the messages kept per list.
	Max, Samples int
}

// srcDryRunResult is what a dry run found.
type srcDryRunResult struct {
	From, To  time.Time
	Scanned   int
	Accepted  int // taken under the tried rules
	Stopped   int // rejected by a stop rule
	Gained    int
	Lost      int
	Unchanged int
	PerRule   []srcRuleCount
	// Bots: bot messages were read too.
	Bots bool
	// Truncated: Max was reached, or messages were skipped (more than a
	// page received within one millisecond).
	Truncated bool
	Gains     []srcDryRunMessage
	Losses    []srcDryRunMessage
}

type srcRuleCount struct {
	Rule  string
	Count int
}

// srcDryRunMessage is a message whose verdict would change.
type srcDryRunMessage struct {
	Key        chatter.Key
	URL        string
	Chat       string
	Sender     string
	Text       string
	ReceivedAt time.Time
	// Before is the verdict it has now (State filtered or not).
	State  chatter.State
	Before chatter.Verdict
	// After is the tried rules' result; NotApplied when the tried rules do
	// not apply to it (a bot message with apply_to parser).
	After      *keyword.Result
	NotApplied bool
}

// srcDryRun runs o over the workspace's ledger in ms, newest first. The
// period is read in windows of at most srcDryRunPage messages, each
// window counted first (CountEntries) and halved while it holds more, so
// that messages sharing a ReceivedAt (a batch saved together) are never
// skipped, as paging by time could.
func srcDryRun(ctx context.Context, ms chatter.MessageStore, o srcDryRunOptions) (*srcDryRunResult, error) {
	o.Max = srcOr(o.Max, srcDryRunMaxMessages)
	o.Samples = srcOr(o.Samples, srcDryRunSamples)
	res := &srcDryRunResult{From: o.From, To: o.To, Bots: o.ApplyTo == config.ApplyToAll || o.Current == config.ApplyToAll}
	q := chatter.LedgerQuery{Workspace: o.Workspace, States: srcDryRunStates, WithMessage: true}
	if !res.Bots {
		q.Source = chatter.SourceParser
	}
	d := &srcDryRunner{ms: ms, o: o, q: q, res: res, perRule: map[string]int{}}
	if err := d.window(ctx, o.From, o.To); err != nil {
		return nil, fmt.Errorf("web: dry run: %w", err)
	}
	for rule, n := range d.perRule {
		res.PerRule = append(res.PerRule, srcRuleCount{Rule: rule, Count: n})
	}
	sort.Slice(res.PerRule, func(i, j int) bool {
		if res.PerRule[i].Count != res.PerRule[j].Count {
			return res.PerRule[i].Count > res.PerRule[j].Count
		}
		return res.PerRule[i].Rule < res.PerRule[j].Rule
	})
	res.Unchanged = res.Scanned - res.Gained - res.Lost
	return res, nil
}

type srcDryRunner struct {
	ms      chatter.MessageStore
	o       srcDryRunOptions
	q       chatter.LedgerQuery
	res     *srcDryRunResult
	perRule map[string]int
}

// window judges the messages received in [from, to), newest first.
func (d *srcDryRunner) window(ctx context.Context, from, to time.Time) error {
	if d.res.Scanned >= d.o.Max {
		d.res.Truncated = true
		return nil
	}
	q := d.q
	q.From, q.To = from, to
	counts, err := d.ms.CountEntries(ctx, q)
	if err != nil {
		return err
	}
	n := 0
	for _, c := range counts {
		n += c
	}
	if n == 0 {
		return nil
	}
	if n > srcDryRunPage && to.Sub(from) > time.Microsecond {
		mid := from.Add(to.Sub(from) / 2)
		if err := d.window(ctx, mid, to); err != nil {
			return err
		}
		return d.window(ctx, from, mid)
	}
	q.Limit = srcDryRunListMax
	entries, err := d.ms.ListEntries(ctx, q)
	if err != nil {
		return err
	}
	if n > len(entries) {
		// More than a listing holds within a microsecond.
		d.res.Truncated = true
	}
	for _, e := range entries {
		if e.Message == nil {
			continue
		}
		if d.res.Scanned >= d.o.Max {
			d.res.Truncated = true
			return nil
		}
		d.res.Scanned++
		d.res.judge(e, d.o, d.perRule)
	}
	return nil
}

// judge compares e's verdict now with the tried rules'.
func (res *srcDryRunResult) judge(e *chatter.LedgerEntry, o srcDryRunOptions, perRule map[string]int) {
	before := e.State != chatter.StateFiltered
	m := srcDryRunMessage{Key: e.Key, URL: srcLedgerURL(o.Workspace, e.Key), Chat: srcChatTitle(e.Message.Chat),
		Sender: srcSenderName(e.Message.Sender), Text: srcExcerpt(e.Message.Text, srcDryRunExcerpt), ReceivedAt: e.ReceivedAt,
		State: e.State, Before: e.Verdict}
	var after bool
	if e.Key.Source == chatter.SourceBot && o.ApplyTo != config.ApplyToAll {
		m.NotApplied, after = true, true
	} else {
		m.After = o.Set.Match(e.Key, e.Message.Text)
		after = m.After.Accepted()
		if m.After.Stopped != nil {
			res.Stopped++
		}
		if after {
			for _, rm := range m.After.Matches {
				perRule[rm.Rule]++
			}
		}
	}
	if after {
		res.Accepted++
	}
	switch {
	case after && !before:
		res.Gained++
		if len(res.Gains) < o.Samples {
			res.Gains = append(res.Gains, m)
		}
	case !after && before:
		res.Lost++
		if len(res.Losses) < o.Samples {
			res.Losses = append(res.Losses, m)
		}
	}
}

func srcChatTitle(c chatter.Chat) string {
	switch {
	case c.Title != "":
		return c.Title
	case c.Username != "":
		return "@" + c.Username
	}
	return fmt.Sprint(c.ID)
}

func srcSenderName(s chatter.Sender) string {
	name := s.Name()
	if name == "" && s.ID != 0 {
		return fmt.Sprint(s.ID)
	}
	if s.Username != "" && name != "@"+s.Username {
		name += " @" + s.Username
	}
	return name
}

// srcExcerpt is the first n characters of s.
func srcExcerpt(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

func srcOr(a, b int) int {
	if a > 0 {
		return a
	}
	return b
}
