package keyword_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/chattertest"
	"github.com/chatterhq/sdk/chatter/keyword"
)

func TestDryRunComparesWithStoredVerdicts(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	store := chattertest.NewMemStore()
	current := keyword.MustCompile(keyword.Config{Rules: keyword.ParseRules("!ремонт квартиры")})
	texts := []string{
		"Нужен ремонт квартиры",            // taken now and later
		"Ищем бригаду для ремонта квартир", // filtered now (exact form), taken by the stem rule
		"Продам диван",                     // filtered either way
		"Вакансия: ремонт квартиры",        // taken now, stopped later
	}
	for i, text := range texts {
		m := chattertest.NewMessage("ws1", -100500, int64(i+1), text)
		if _, err := store.SaveMessage(ctx, m, chatter.AcceptOptions{Verdict: current.Filter(m), MaxAttempts: 3}); err != nil {
			t.Fatal(err)
		}
	}
	// Another workspace's messages are never read.
	other := chattertest.NewMessage("ws2", -100500, 1, "ремонт квартиры")
	if _, err := store.SaveMessage(ctx, other, chatter.AcceptOptions{Verdict: chatter.Verdict{Accept: false}, MaxAttempts: 3}); err != nil {
		t.Fatal(err)
	}

	proposed := keyword.MustCompile(keyword.Config{Rules: keyword.ParseRules("ремонт квартиры\n-вакансия")})
	rep, err := keyword.DryRun(ctx, store, proposed, keyword.DryRunOptions{Workspace: "ws1"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Scanned != 4 || rep.Matched != 2 || rep.Gained != 1 || rep.Lost != 1 || rep.Stopped != 1 {
		t.Fatalf("report = %+v", rep)
	}
	if rep.PerRule["ремонт квартиры"] != 2 || len(rep.GainedEx) != 1 || rep.GainedEx[0].Text != texts[1] {
		t.Errorf("per rule %v, gained %+v", rep.PerRule, rep.GainedEx)
	}
	if rep.LostEx[0].Stopped == nil || rep.LostEx[0].Stopped.Rule != "-вакансия" {
		t.Errorf("lost = %+v", rep.LostEx)
	}
	if rep.Summary.RU == "" || rep.Summary.EN == "" {
		t.Error("no summary")
	}

	strict := keyword.MustCompile(keyword.Config{Rules: keyword.ParseRules(`"ремонт квартиры под ключ"`)})
	rep, err = keyword.DryRun(ctx, store, strict, keyword.DryRunOptions{Workspace: "ws1"})
	if err != nil || rep.Matched != 0 {
		t.Fatalf("strict: %+v %v", rep, err)
	}
	if want := "слишком строгие"; !strings.Contains(rep.Summary.RU, want) {
		t.Errorf("summary does not warn about strict rules: %q", rep.Summary.RU)
	}

	if _, err := keyword.DryRun(ctx, store, strict, keyword.DryRunOptions{}); !errors.Is(err, chatter.ErrInvalid) {
		t.Errorf("no workspace: %v", err)
	}
}
