package main

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/chatterhq/sdk/amocrm/amocrmtest"
	"github.com/chatterhq/sdk/chatter"
)

// Languages of the output.
const (
	langRU = "ru"
	langEN = "en"
)

// zone is the mapping's time zone ("+03:00"): times are shown as the
// operator in Moscow sees them.
var zone = time.FixedZone("UTC+3", 3*60*60)

// report is everything the demo prints, gathered after the run.
type report struct {
	lang     string
	msgs     []*chatter.Message     // the conversation, as the source handed it
	accepted []chatter.AcceptResult // Pipeline.Accept's answer per msgs index
	entries  map[chatter.Key]*chatter.LedgerEntry
	leads    []amocrmtest.Lead
	contacts []amocrmtest.Contact
	// seeded holds the leads and contacts the account had before the run.
	seededLeads, seededContacts map[int64]bool
	statuses                    map[int64]string // lead status id → name
	checks                      []chatter.CheckResult
	requests, tooMany           int64
}

// tr picks the variant of lang.
func tr(lang, ru, en string) string { return chatter.T(ru, en).In(lang) }

// write prints the whole report.
func (r *report) write(w io.Writer) error {
	unique := map[chatter.Key]bool{}
	for _, m := range r.msgs {
		unique[m.Key] = true
	}
	var newLeads, notes, skipped int
	for i := range r.msgs {
		switch o := r.outcome(i); o.kind {
		case outcomeNewLead:
			newLeads++
		case outcomeNote:
			notes++
		case outcomeSkipped:
			skipped++
		}
	}
	fmt.Fprintln(w, tr(r.lang,
		"Демо Чаттера: переписка в Telegram становится сделками в amoCRM. Переписка заготовлена, amoCRM — поддельный, в этом же процессе.",
		"Chatter demo: a Telegram conversation becomes amoCRM leads. The conversation is scripted; amoCRM is a fake in this process."))
	fmt.Fprintln(w, tr(r.lang,
		fmt.Sprintf("Сообщений из Telegram: %d (уникальных: %d). Новых сделок: %d, примечаний к сделкам: %d, пропущено: %d.", len(r.msgs), len(unique), newLeads, notes, skipped),
		fmt.Sprintf("Messages from Telegram: %d (unique: %d). New leads: %d, notes on leads: %d, skipped: %d.", len(r.msgs), len(unique), newLeads, notes, skipped)))
	for _, block := range []func(io.Writer) error{r.writeConversation, r.writeOutcomes, r.writeLeads, r.writeContacts, r.writeChecks} {
		fmt.Fprintln(w)
		if err := block(w); err != nil {
			return err
		}
	}
	fmt.Fprintln(w)
	_, err := fmt.Fprintln(w, tr(r.lang,
		fmt.Sprintf("Запросов к amoCRM: %d, ответов 429 (превышен лимит): %d", r.requests, r.tooMany),
		fmt.Sprintf("Requests to amoCRM: %d, 429 answers (limit exceeded): %d", r.requests, r.tooMany)))
	return err
}

// writeConversation prints the input: who wrote what, where and when.
func (r *report) writeConversation(w io.Writer) error {
	rows := make([][]string, 0, len(r.msgs))
	for i, m := range r.msgs {
		text := m.Text
		if m.Edited {
			text = tr(r.lang, "(изменено) ", "(edited) ") + text
		}
		rows = append(rows, []string{r.ref(i), r.when(m.Time), r.chat(m.Chat), person(m.Sender), text})
	}
	return writeTable(w, tr(r.lang, "Переписка в Telegram (время UTC+3):", "The Telegram conversation (times UTC+3):"),
		[]string{tr(r.lang, "№", "#"), tr(r.lang, "время", "time"), tr(r.lang, "чат", "chat"), tr(r.lang, "автор", "author"), tr(r.lang, "текст", "text")},
		rows)
}

// writeOutcomes prints what happened to each message of the conversation.
func (r *report) writeOutcomes(w io.Writer) error {
	rows := make([][]string, 0, len(r.msgs))
	for i := range r.msgs {
		o := r.outcome(i)
		attempts := "—"
		if o.entry != nil {
			attempts = strconv.Itoa(o.entry.Attempts)
		}
		rows = append(rows, []string{r.ref(i), o.state, attempts, o.text})
	}
	return writeTable(w, tr(r.lang, "Что стало с каждым сообщением:", "What happened to each message:"),
		[]string{tr(r.lang, "№", "#"), tr(r.lang, "состояние", "state"), tr(r.lang, "попыток", "attempts"), tr(r.lang, "итог", "outcome")},
		rows)
}

// writeLeads prints the account's leads after the run.
func (r *report) writeLeads(w io.Writer) error {
	names := map[int64]string{}
	for _, c := range r.contacts {
		names[c.ID] = contactName(c)
	}
	rows := make([][]string, 0, len(r.leads))
	for _, l := range r.leads {
		origin := tr(r.lang, "была в amoCRM", "was in amoCRM")
		if !r.seededLeads[l.ID] {
			origin = "—"
			if i := r.firstMessage(func(res *chatter.DeliveryResult) bool { return res.NewLead() && res.LeadID == l.ID }); i >= 0 {
				origin = tr(r.lang, "из сообщения ", "from message ") + r.ref(i)
			}
		}
		var contacts []string
		for _, id := range l.ContactIDs {
			contacts = append(contacts, cmp.Or(names[id], "#"+strconv.FormatInt(id, 10)))
		}
		var from []string
		for i := range r.msgs {
			if res := r.result(i); res != nil && res.LeadID == l.ID {
				from = append(from, r.ref(i))
			}
		}
		rows = append(rows, []string{id(l.ID), origin, r.statuses[l.StatusID], strings.Join(contacts, ", "), strings.Join(from, ", "), l.Name, quoteList(l.Tags)})
	}
	return writeTable(w, tr(r.lang, "Сделки в amoCRM:", "Leads in amoCRM:"),
		[]string{tr(r.lang, "сделка", "lead"), tr(r.lang, "откуда", "origin"), tr(r.lang, "этап", "stage"), tr(r.lang, "контакты", "contacts"),
			tr(r.lang, "сообщения", "messages"), tr(r.lang, "название", "name"), tr(r.lang, "теги", "tags")},
		rows)
}

// writeContacts prints the account's contacts after the run.
func (r *report) writeContacts(w io.Writer) error {
	rows := make([][]string, 0, len(r.contacts))
	for _, c := range r.contacts {
		origin := tr(r.lang, "был в amoCRM", "was in amoCRM")
		if !r.seededContacts[c.ID] {
			origin = "—"
			if i := r.firstMessage(func(res *chatter.DeliveryResult) bool { return res.ContactID == c.ID }); i >= 0 {
				origin = tr(r.lang, "из сообщения ", "from message ") + r.ref(i)
			}
		}
		username := amocrmtest.FieldString(c.CustomFieldsValues, amocrmtest.DemoContactTelegramUsername)
		if username != "" {
			username = "@" + username
		}
		rows = append(rows, []string{id(c.ID), origin, contactName(c),
			amocrmtest.FieldString(c.CustomFieldsValues, amocrmtest.DemoContactTelegramID), username,
			amocrmtest.FieldString(c.CustomFieldsValues, amocrmtest.DemoContactPhone)})
	}
	return writeTable(w, tr(r.lang, "Контакты в amoCRM:", "Contacts in amoCRM:"),
		[]string{tr(r.lang, "контакт", "contact"), tr(r.lang, "откуда", "origin"), tr(r.lang, "имя", "name"), "Telegram ID",
			tr(r.lang, "username", "username"), tr(r.lang, "телефон", "phone")},
		rows)
}

// writeChecks prints the diagnostics (doctor) of the sink.
func (r *report) writeChecks(w io.Writer) error {
	rows := make([][]string, 0, len(r.checks))
	for _, c := range r.checks {
		title := c.Title.In(r.lang)
		if c.Title.IsZero() {
			title = c.Name
		}
		rows = append(rows, []string{title, checkStatus(r.lang, c.Status), c.Cause.In(r.lang)})
	}
	return writeTable(w, tr(r.lang, "Диагностика (doctor):", "Diagnostics (doctor):"),
		[]string{tr(r.lang, "проверка", "check"), tr(r.lang, "итог", "result"), tr(r.lang, "пояснение", "why")},
		rows)
}

// outcomeKind classifies what became of one message.
type outcomeKind int

const (
	outcomePending outcomeKind = iota // not settled (the run ended first)
	outcomeNewLead
	outcomeNote
	outcomeSkipped // a repeat, filtered or rejected: nothing was sent
	outcomeFailed
)

type outcome struct {
	kind  outcomeKind
	state string // the ledger state (or "skipped"), translated
	text  string
	entry *chatter.LedgerEntry // nil for a repeat
}

// outcome says what became of message i.
func (r *report) outcome(i int) outcome {
	m := r.msgs[i]
	if i < len(r.accepted) && r.accepted[i].Duplicate {
		first := slices.IndexFunc(r.msgs, func(o *chatter.Message) bool { return o.Key == m.Key })
		return outcome{kind: outcomeSkipped, state: tr(r.lang, "пропущено", "skipped"),
			text: tr(r.lang, "повтор сообщения "+r.ref(first)+": Telegram прислал его ещё раз, в amoCRM ничего не отправлено",
				"a repeat of message "+r.ref(first)+": Telegram sent it again, nothing was sent to amoCRM")}
	}
	e := r.entries[m.Key]
	if e == nil {
		return outcome{kind: outcomePending, state: "—", text: tr(r.lang, "не записано в журнал", "not on the ledger")}
	}
	o := outcome{state: stateText(r.lang, e.State), entry: e}
	switch e.State {
	case chatter.StateDelivered:
		res := e.Result
		switch {
		case res == nil:
			o.kind, o.text = outcomeNote, tr(r.lang, "доставлено", "delivered")
		case res.Adopted:
			o.kind, o.text = outcomeNewLead, tr(r.lang, "найдена сделка "+id(res.LeadID)+", созданная прошлой попыткой",
				"found lead "+id(res.LeadID)+", created by an earlier attempt")
		case res.Threaded:
			o.kind, o.text = outcomeNote, tr(r.lang, "добавлено примечание к сделке "+id(res.LeadID), "note added to lead "+id(res.LeadID))
			if m.Edited {
				orig := slices.IndexFunc(r.msgs, func(o *chatter.Message) bool {
					return o.Key.Revision == 0 && o.Key.ChatID == m.Key.ChatID && o.Key.MessageID == m.Key.MessageID && o.Key.Account == m.Key.Account
				})
				if orig >= 0 {
					o.text += tr(r.lang, " — правка сообщения "+r.ref(orig), " — an edit of message "+r.ref(orig))
				}
			}
			if r.seededLeads[res.LeadID] {
				o.text += tr(r.lang, " — открытая сделка этого клиента, уже бывшая в amoCRM", " — the customer's open lead, already in amoCRM")
			}
		default:
			o.kind = outcomeNewLead
			if r.seededContacts[res.ContactID] {
				o.text = tr(r.lang, "создана сделка "+id(res.LeadID)+" для контакта "+id(res.ContactID)+" из amoCRM",
					"lead "+id(res.LeadID)+" created for contact "+id(res.ContactID)+" from amoCRM")
			} else {
				o.text = tr(r.lang, "создана сделка "+id(res.LeadID)+" и контакт "+id(res.ContactID),
					"lead "+id(res.LeadID)+" and contact "+id(res.ContactID)+" created")
			}
		}
	case chatter.StateFiltered:
		o.kind, o.text = outcomeSkipped, tr(r.lang, "пропущено фильтром", "skipped by the filter")
		if e.Verdict.Rule != "" {
			o.text += tr(r.lang, ": правило ", ": rule ") + "«" + e.Verdict.Rule + "»"
		}
	case chatter.StateRejected:
		o.kind, o.text = outcomeSkipped, tr(r.lang, "отклонено при приёме", "rejected at intake")
		if rej := e.Rejection.Text(); !rej.IsZero() {
			o.text += ": " + rej.In(r.lang)
		}
	case chatter.StateDead:
		o.kind, o.text = outcomeFailed, tr(r.lang, "не доставлено", "not delivered")
		if e.ErrorClass != "" {
			o.text += ": " + e.ErrorClass.Cause().In(r.lang)
		}
	default:
		o.kind, o.text = outcomePending, tr(r.lang, "ещё не доставлено", "not delivered yet")
	}
	return o
}

// result is the delivery result of message i, nil for a repeat or an
// undelivered message.
func (r *report) result(i int) *chatter.DeliveryResult {
	if i < len(r.accepted) && r.accepted[i].Duplicate {
		return nil
	}
	if e := r.entries[r.msgs[i].Key]; e != nil && e.State == chatter.StateDelivered {
		return e.Result
	}
	return nil
}

// firstMessage is the index of the first message whose result satisfies f, or -1.
func (r *report) firstMessage(f func(*chatter.DeliveryResult) bool) int {
	for i := range r.msgs {
		if res := r.result(i); res != nil && f(res) {
			return i
		}
	}
	return -1
}

func (r *report) when(t time.Time) string {
	t = t.In(zone)
	if r.lang == langEN {
		return t.Format("Jan 2 15:04")
	}
	return t.Format("02.01 15:04")
}

func (r *report) chat(c chatter.Chat) string {
	if c.Type == chatter.ChatPrivate {
		return tr(r.lang, "личный чат с ботом", "private chat with the bot")
	}
	return tr(r.lang, "группа ", "group ") + "«" + c.Title + "»"
}

// ref is the short reference of message i in the printed conversation:
// №1 in Russian, #1 in English.
func (r *report) ref(i int) string { return tr(r.lang, "№", "#") + strconv.Itoa(i+1) }

// id is an amoCRM entity id as amoCRM shows it.
func id(n int64) string { return "#" + strconv.FormatInt(n, 10) }

func person(s chatter.Sender) string {
	name := strings.TrimSpace(s.FirstName + " " + s.LastName)
	switch {
	case name == "" && s.Username == "":
		return "id " + strconv.FormatInt(s.ID, 10)
	case name == "":
		return "@" + s.Username
	case s.Username == "":
		return name
	}
	return name + " (@" + s.Username + ")"
}

func contactName(c amocrmtest.Contact) string {
	return cmp.Or(c.Name, strings.TrimSpace(c.FirstName+" "+c.LastName))
}

// quoteList joins items as «a», «b c»: quoted, so an item with a space or a
// comma stays one item.
func quoteList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = "«" + s + "»"
	}
	return strings.Join(q, ", ")
}

// stateText is a ledger state in lang, as the admin UI names it.
func stateText(lang string, s chatter.State) string {
	switch s {
	case chatter.StateReceived:
		return tr(lang, "получено", "received")
	case chatter.StateRejected:
		return tr(lang, "отклонено", "rejected")
	case chatter.StateFiltered:
		return tr(lang, "отфильтровано", "filtered")
	case chatter.StateQueued:
		return tr(lang, "в очереди", "queued")
	case chatter.StateDelivering:
		return tr(lang, "доставляется", "delivering")
	case chatter.StateDelivered:
		return tr(lang, "доставлено", "delivered")
	case chatter.StateFailed:
		return tr(lang, "ошибка, будет повтор", "failed, will retry")
	case chatter.StateDead:
		return tr(lang, "не доставлено", "dead")
	}
	return string(s)
}

// checkStatus is a diagnostic's verdict in lang.
func checkStatus(lang string, s chatter.Status) string {
	switch s {
	case chatter.StatusOK:
		return tr(lang, "ОК", "OK")
	case chatter.StatusWarn:
		return tr(lang, "внимание", "warning")
	case chatter.StatusFail:
		return tr(lang, "ошибка", "failed")
	case chatter.StatusSkip:
		return tr(lang, "не проверялось", "skipped")
	}
	return string(s)
}

// writeTable prints title and an aligned table: columns are padded to the
// widest cell in runes (text/tabwriter counts runes, so Cyrillic aligns),
// two spaces apart, indented by two. Cells are flattened to one line and an
// empty one shows as "—", so every row has every column.
func writeTable(w io.Writer, title string, header []string, rows [][]string) error {
	if _, err := fmt.Fprintln(w, title); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, row := range append([][]string{header}, rows...) {
		cells := make([]string, len(row))
		for i, c := range row {
			cells[i] = cmp.Or(strings.Join(strings.Fields(c), " "), "—")
		}
		fmt.Fprintln(tw, "  "+strings.Join(cells, "\t"))
	}
	return tw.Flush()
}
