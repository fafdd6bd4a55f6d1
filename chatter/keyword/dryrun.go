package keyword

import (
	"context"
	"fmt"
	"time"

	"github.com/chatterhq/sdk/chatter"
)

// DryRunOptions selects the stored messages a dry run evaluates.
type DryRunOptions struct {
	Workspace string    // required
	From, To  time.Time // received in [From, To); zero To means now
	Source    chatter.SourceKind
	ChatID    int64
	// MaxMessages bounds the scan. Defaults to 10,000.
	MaxMessages int
	// Samples is how many examples to keep per category. Defaults to 10.
	Samples int
}

// Sample is one message in a dry-run report.
type Sample struct {
	Key     string      `json:"key"`
	Text    string      `json:"text"` // first 200 characters
	Matches []RuleMatch `json:"matches,omitempty"`
	Stopped *RuleMatch  `json:"stopped,omitempty"`
}

// DryRunReport says what a rule set would do to stored messages, so an
// operator sees "filters too strict" (or too loose) before changing them.
type DryRunReport struct {
	Scanned   int            `json:"scanned"`
	Matched   int            `json:"matched"`   // would be taken
	Stopped   int            `json:"stopped"`   // rejected by a stop rule
	PerRule   map[string]int `json:"per_rule"`  // matches per rule (a message may count for several)
	Gained    int            `json:"gained"`    // filtered out before, would be taken now
	Lost      int            `json:"lost"`      // taken before, would be filtered out now
	Samples   []Sample       `json:"samples"`   // matched examples
	GainedEx  []Sample       `json:"gained_ex"` // examples of Gained
	LostEx    []Sample       `json:"lost_ex"`   // examples of Lost
	Truncated bool           `json:"truncated"` // MaxMessages reached
	Summary   chatter.Text   `json:"summary"`
}

// DryRun evaluates set against the messages stored in ms for opts and
// compares with the verdicts they got when they arrived.
func DryRun(ctx context.Context, ms chatter.MessageStore, set *Set, opts DryRunOptions) (*DryRunReport, error) {
	if opts.Workspace == "" {
		return nil, fmt.Errorf("keyword: dry run: %w: workspace is empty", chatter.ErrInvalid)
	}
	if opts.MaxMessages <= 0 {
		opts.MaxMessages = 10_000
	}
	if opts.Samples <= 0 {
		opts.Samples = 10
	}
	rep := &DryRunReport{PerRule: map[string]int{}}
	q := chatter.LedgerQuery{Workspace: opts.Workspace, From: opts.From, To: opts.To, Source: opts.Source,
		ChatID: opts.ChatID, Limit: 500, WithMessage: true}
	for {
		entries, err := ms.ListEntries(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("keyword: dry run: %w", err)
		}
		for _, e := range entries {
			if e.Message == nil {
				continue
			}
			if rep.Scanned >= opts.MaxMessages {
				rep.Truncated = true
				rep.summarize()
				return rep, nil
			}
			rep.Scanned++
			res := set.Match(e.Key, e.Message.Text)
			now := res.Accepted()
			before := e.State != chatter.StateFiltered
			sample := func() Sample {
				return Sample{Key: e.Key.String(), Text: truncate(e.Message.Text, 200), Matches: res.Matches, Stopped: res.Stopped}
			}
			if res.Stopped != nil {
				rep.Stopped++
			}
			if now {
				rep.Matched++
				for _, m := range res.Matches {
					rep.PerRule[m.Rule]++
				}
				if len(rep.Samples) < opts.Samples {
					rep.Samples = append(rep.Samples, sample())
				}
			}
			switch {
			case now && !before:
				rep.Gained++
				if len(rep.GainedEx) < opts.Samples {
					rep.GainedEx = append(rep.GainedEx, sample())
				}
			case !now && before:
				rep.Lost++
				if len(rep.LostEx) < opts.Samples {
					rep.LostEx = append(rep.LostEx, sample())
				}
			}
		}
		if len(entries) < q.Limit {
			break
		}
		q.Before = entries[len(entries)-1].ReceivedAt
	}
	rep.summarize()
	return rep, nil
}

func (r *DryRunReport) summarize() {
	r.Summary = chatter.T(
		fmt.Sprintf("Проверено сообщений: %d. Подошло бы: %d. Новых по сравнению с текущими правилами: %d, потерянных: %d. Отсечено стоп-словами: %d.",
			r.Scanned, r.Matched, r.Gained, r.Lost, r.Stopped),
		fmt.Sprintf("Messages checked: %d. Would match: %d. Gained against the current rules: %d, lost: %d. Rejected by stop words: %d.",
			r.Scanned, r.Matched, r.Gained, r.Lost, r.Stopped))
	if r.Scanned > 0 && r.Matched == 0 {
		r.Summary.RU += " Ни одно сообщение не подошло: правила, вероятно, слишком строгие (проверьте формы слов, оператор «!» и минус-слова)."
		r.Summary.EN += " No message matched: the rules are probably too strict (check word forms, the '!' operator and minus-words)."
	}
}

func truncate(s string, n int) string {
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos] + "…"
		}
		i++
	}
	return s
}
