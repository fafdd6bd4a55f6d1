package demo

import (
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter/keyword"
)

func TestScriptIsDeterministic(t *testing.T) {
	a, b := Script(7, 300), Script(7, 300)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Fatalf("same seed, different scripts (-first +second):\n%s", diff)
	}
	require.NotEqual(t, Script(8, 300), a, "another seed plays another script")
	// A prefix is the start of a longer script: resuming at a position
	// replays exactly what follows it.
	if diff := cmp.Diff(a[:120], Script(7, 120)); diff != "" {
		t.Fatalf("prefix differs (-long +short):\n%s", diff)
	}
	for i, ev := range a {
		require.Equal(t, i, ev.Seq)
	}
}

// Every feature the demo promises appears within one round of templates,
// whatever the seed: bot messages, edits, shared contacts and repeats,
// posts in both groups, re-posts, chit-chat that is filtered, phones in the
// text, the existing customer, and someone writing again.
func TestScriptCoversEveryFeatureInOneRound(t *testing.T) {
	set, err := keyword.Compile(Keywords())
	require.NoError(t, err)
	for seed := range uint64(30) {
		evs := Script(seed, ScriptLen(seed, len(templates)))
		got := map[string]bool{}
		for _, ev := range evs {
			got["chat:"+ev.Chat] = true
			got["kind:"+string(ev.Kind)] = true
			if ev.Repeat {
				got["repeat"] = true
			}
			if ev.Phone != "" && ev.Kind != KindContact {
				got["phone in text:"+string(ev.Person.Side)] = true
			}
			if !Accepted(set, ev) {
				got["filtered"] = true
			}
			if ev.Person.Customer {
				got["customer"] = true
			}
		}
		want := map[string]bool{"chat:bot": true, "chat:renovation": true, "chat:furniture": true,
			"kind:message": true, "kind:edit": true, "kind:contact": true, "kind:repost": true, "repeat": true,
			"phone in text:bot": true, "phone in text:groups": true, "filtered": true, "customer": true}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("seed %d: features (-want +got):\n%s", seed, diff)
		}
	}
}

// The keyword rules let through exactly the posts the script means as
// requests, and filter the chit-chat and the follow-ups without keywords.
func TestKeywordsSeparateRequestsFromChitChat(t *testing.T) {
	set, err := keyword.Compile(Keywords())
	require.NoError(t, err)
	passed, filtered := 0, 0
	for seed := range uint64(20) {
		for _, ev := range Script(seed, 300) {
			if got := Accepted(set, ev); got != ev.LeadWorthy {
				t.Fatalf("seed %d event %d (%s, lead-worthy %v): rules say %v: %q",
					seed, ev.Seq, ev.Chat, ev.LeadWorthy, got, ev.Text)
			}
			if ev.Chat != ChatBot {
				if ev.LeadWorthy {
					passed++
				} else {
					filtered++
				}
			}
		}
	}
	require.Positive(t, passed)
	require.Positive(t, filtered)
}

func TestKeywordRulesOnSamples(t *testing.T) {
	set, err := keyword.Compile(Keywords())
	require.NoError(t, err)
	for text, want := range map[string]bool{
		"Ищу бригаду на ремонт ванной под ключ, Химки.":      true,
		"Нужна кухня на заказ, 3,2 м, ЮАО. Кто делает?":      true,
		"Хочу заказать шкаф в прихожую":                      true,
		"Нужно поменять окна на балконе":                     true,
		"Мастера, отзовитесь: 8 (977) 200-79-19":             true,
		"пишите +79772007919":                                true,
		"Желательно начать в апреле.":                        false,
		"Делаем ремонт бесплатно — пишите в личку (реклама)": false,
		"Вакансия: требуется сборщик мебели в цех.":          false,
		"Продам остатки плитки, 5 коробок, недорого.":        false,
		"Бюджет до 300 000 ₽, площадь 89 м²":                 false,
		"Подскажите, какой ламинат лучше для кухни?":         false,
		"Фото моей новой кухни, спасибо мастерам из группы!": false,
	} {
		ev := Event{Chat: GroupRenovation, Text: text}
		require.Equal(t, want, Accepted(set, ev), text)
	}
	// The bot's messages are not filtered.
	require.True(t, Accepted(set, Event{Chat: ChatBot, Text: "Всем привет!"}))
}

var usernameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{4,31}$`)

func TestPeopleAreStableAndDistinct(t *testing.T) {
	phones := map[string]Person{"+79161234567": customer, "+79265554433": {}, "+74951234567": {}}
	names := map[string]bool{customer.Username: true}
	for _, side := range []Side{SideBot, SideGroups} {
		for i := range 2000 {
			p := personAt(side, i)
			require.Equal(t, p, personAt(side, i))
			require.Equal(t, i, p.Index)
			if side == SideBot && i == 0 {
				require.True(t, p.Customer)
				continue
			}
			require.NotEmpty(t, p.FirstName)
			require.Regexp(t, `^\+79(15|77)\d{7}$`, p.Phone)
			if q, dup := phones[p.Phone]; dup {
				t.Fatalf("%s person %d has the phone of %+v", side, i, q)
			}
			phones[p.Phone] = p
			if p.Username != "" {
				require.Regexp(t, usernameRE, p.Username)
				require.False(t, names[p.Username], "username %s twice", p.Username)
				names[p.Username] = true
			}
		}
	}
}

func TestScriptLenAndConversationsDone(t *testing.T) {
	for _, n := range []int{1, 2, 5, 13, 40} {
		l := ScriptLen(3, n)
		require.GreaterOrEqual(t, conversationsDone(3, l), n)
		require.Less(t, conversationsDone(3, l-1), n, "ScriptLen is the shortest prefix")
	}
	require.Equal(t, 0, ScriptLen(3, 0))
	require.Equal(t, 0, conversationsDone(3, 0))
}

func TestWrittenPhonesNormalise(t *testing.T) {
	for f := range phoneFormats {
		w := writtenPhone("+79152007919", f)
		require.Regexp(t, `^(\+7|8)`, w)
	}
	require.Equal(t, "+7 915 200-79-19", writtenPhone("+79152007919", 0))
	require.Equal(t, "8 (915) 200-79-19", writtenPhone("+79152007919", 1))
}
