package demo

import (
	"fmt"
	"slices"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/keyword"
)

// Expectation is what the pipeline must make of a prefix of the script:
// the counts on the ledger and in amoCRM, person by person.
//
// It assumes the server is wired as the demo documents: Keywords as the
// pipeline's filter; amocrmsink with the demo account's
// ContactTelegramIDField and ContactUsernameField and LookupCRM (the
// default); every message of a person within ThreadWindow of their
// previous one (the default 7 days, against a pace of seconds); and
// nobody closing leads meanwhile. Under those rules, amocrmsink makes of
// each delivered message exactly one note, on the person's lead: the
// first delivered message of a new person creates the lead and its contact
// (with the phone of that message, if it has one), later ones thread onto
// it; the existing customer's messages go to her open lead in the demo
// account. A repeat (the same update twice) changes nothing.
type Expectation struct {
	// Events is the length of the script prefix; Conversations how many
	// conversations are complete within it (counted from the first: see
	// ScriptLen).
	Events        int
	Conversations int

	// BotUpdates are the updates the bot fake produced: messages, contact
	// shares and edits, each a new chatter.Key. BotRepeats of them were
	// delivered twice (the second delivery has the same key).
	BotUpdates  int
	BotEdits    int
	BotContacts int
	BotRepeats  int
	// GroupPosts are the posts in the parsed groups, Reposts of them
	// re-posts of an earlier post (new messages).
	GroupPosts int
	Reposts    int

	// Filtered group posts are on the ledger as filtered; Delivered
	// messages (the bot's and the posts that pass) as delivered.
	Filtered  int
	Delivered int

	// Leads and Contacts are created in amoCRM (one each per new person);
	// Notes are added to leads, one per delivered message; CustomerNotes
	// of them on the existing customer's lead.
	Leads         int
	Contacts      int
	Notes         int
	CustomerNotes int

	// People are the people with a delivered message, in the order of
	// their first one.
	People []PersonExpectation
	// Phones are the delivered messages that carry a phone number (in the
	// text, or a shared contact).
	Phones []PhoneExpectation
}

// Ledger is the number of messages on the ledger: delivered + filtered.
func (x *Expectation) Ledger() int { return x.Delivered + x.Filtered }

// PersonExpectation is what amoCRM must hold for one person.
type PersonExpectation struct {
	Person Person
	// Lead is set for a new person: one new lead and one new contact. The
	// existing customer has none (her lead is the demo account's).
	Lead bool
	// Notes on the person's lead.
	Notes int
	// Phones are the distinct numbers (E.164) of the person's delivered
	// messages, in the order played.
	Phones []string
	// ContactPhone is the phone of the new contact (E.164), "" for none,
	// and FirstSeq the Seq of the message that creates the lead, when the
	// person's messages are delivered in the order played (as at the
	// demo's pace). With concurrent delivery of several of their messages
	// (several workers, two groups read at once) the first one delivered
	// creates the lead: the contact then holds one of Phones, or none.
	ContactPhone string
	FirstSeq     int
}

// PhoneExpectation is a delivered message with a phone number.
type PhoneExpectation struct {
	Seq    int
	Person Person
	Phone  string // E.164
	// Shared is set for a shared contact (the number is the sender's, not
	// in the text).
	Shared bool
	// OnContact is set when the message creates the person's contact, which
	// then holds the phone (in the order played; see
	// PersonExpectation.ContactPhone); later numbers are only in notes.
	OnContact bool
}

// Plan returns the expectation for the first events of the script of
// seed (cumulative over every start on a data directory: pass the
// Generator's Position).
func Plan(seed uint64, events int) (*Expectation, error) {
	set, err := keyword.Compile(Keywords())
	if err != nil {
		return nil, fmt.Errorf("demo: keyword rules: %w", err)
	}
	x := expect(Script(seed, events), set)
	x.Conversations = conversationsDone(seed, events)
	return x, nil
}

// PlanConversations is Plan for the shortest prefix in which the first n
// conversations are complete (ScriptLen).
func PlanConversations(seed uint64, n int) (*Expectation, error) {
	return Plan(seed, ScriptLen(seed, n))
}

// Accepted reports whether the demo's keyword rules let ev through.
func Accepted(set *keyword.Set, ev Event) bool {
	if ev.Chat == ChatBot {
		return set.Match(chatter.Key{Source: chatter.SourceBot}, ev.Text).Accepted()
	}
	return set.Match(chatter.Key{Source: chatter.SourceParser}, ev.Text).Accepted()
}

type personKey struct {
	side  Side
	index int
}

func expect(events []Event, set *keyword.Set) *Expectation {
	x := &Expectation{Events: len(events)}
	people := map[personKey]int{} // index in x.People
	for _, ev := range events {
		if ev.Chat == ChatBot {
			x.BotUpdates++
			switch ev.Kind {
			case KindEdit:
				x.BotEdits++
			case KindContact:
				x.BotContacts++
			}
			if ev.Repeat {
				x.BotRepeats++
			}
		} else {
			x.GroupPosts++
			if ev.Kind == KindRepost {
				x.Reposts++
			}
		}
		if !Accepted(set, ev) {
			x.Filtered++
			continue
		}
		x.Delivered++
		x.Notes++
		k := personKey{ev.Person.Side, ev.Person.Index}
		i, seen := people[k]
		if !seen {
			i = len(x.People)
			people[k] = i
			pe := PersonExpectation{Person: ev.Person, FirstSeq: ev.Seq}
			if !ev.Person.Customer {
				pe.Lead, pe.ContactPhone = true, ev.Phone
				x.Leads++
				x.Contacts++
			}
			x.People = append(x.People, pe)
		}
		x.People[i].Notes++
		if ev.Phone != "" && !slices.Contains(x.People[i].Phones, ev.Phone) {
			x.People[i].Phones = append(x.People[i].Phones, ev.Phone)
		}
		if ev.Person.Customer {
			x.CustomerNotes++
		}
		if ev.Phone != "" {
			x.Phones = append(x.Phones, PhoneExpectation{Seq: ev.Seq, Person: ev.Person, Phone: ev.Phone,
				Shared: ev.Kind == KindContact, OnContact: !seen && !ev.Person.Customer})
		}
	}
	return x
}
