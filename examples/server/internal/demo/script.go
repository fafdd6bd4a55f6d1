package demo

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// ChatBot is the Event.Chat of messages to the bot (a private chat).
const ChatBot = "bot"

// EventKind is what an Event does.
type EventKind string

// Event kinds.
const (
	// KindMessage: the person writes Text (to the bot, or a post in a
	// group).
	KindMessage EventKind = "message"
	// KindEdit: the person edits their previous message (Edits) to Text.
	// Bot only: the MTProto fake has no edits. An edit is a new
	// chatter.Key (Revision = edit date), delivered as a note.
	KindEdit EventKind = "edit"
	// KindContact: the person shares their own phone number with the bot
	// ("share my contact"); the message has no text, Phone is the number.
	KindContact EventKind = "contact"
	// KindRepost: the person posts an earlier post of theirs again
	// (Reposts). In a group that is a new message with its own id: not a
	// repeat of the same update, and delivered as a note on their lead.
	KindRepost EventKind = "repost"
)

// Event is one step of the script: one message a person sends, edits or
// re-posts. The script is an endless, deterministic sequence of events for
// a seed (Script); conversations interleave, two at a time.
type Event struct {
	// Seq is the event's position in the script, from 0.
	Seq int
	// Conversation is the index of the conversation the event belongs to,
	// and Intent what that conversation is about ("renovation", ...).
	Conversation int
	Intent       string
	// Last marks the conversation's last event.
	Last   bool
	Person Person
	// Chat is ChatBot or a group key (GroupRenovation, GroupFurniture).
	Chat string
	Kind EventKind
	// Text is what the person writes (the new text for an edit; empty for
	// a contact).
	Text string
	// Edits is the Seq of the message an edit changes and Reposts the Seq
	// of the post a re-post repeats; -1 for other events.
	Edits, Reposts int
	// Repeat (bot only) makes the Bot API deliver the update twice, with
	// the same update_id, as Telegram does when a confirmation is lost. The
	// second delivery has the same chatter.Key and must change nothing.
	Repeat bool
	// LeadWorthy says whether the message asks for something: group posts
	// that are not must be filtered out by Keywords (chit-chat, follow-ups
	// without keywords). Bot messages are not filtered and are all
	// lead-worthy.
	LeadWorthy bool
	// Phone is the E.164 number written in Text or shared, "" if none.
	Phone string
}

// Script returns the first n events of the script of seed.
func Script(seed uint64, n int) []Event {
	s := newScheduler(seed)
	out := make([]Event, 0, n)
	for range n {
		out = append(out, s.next())
	}
	return out
}

// ScriptLen returns how many events of the script of seed it takes for
// conversations 0..n-1 to be complete. The events may include the start of
// later conversations, which interleave with them.
func ScriptLen(seed uint64, n int) int {
	if n <= 0 {
		return 0
	}
	s := newScheduler(seed)
	done := 0
	for {
		ev := s.next()
		if ev.Last && ev.Conversation < n {
			if done++; done == n {
				return ev.Seq + 1
			}
		}
	}
}

// conversationsDone counts the conversations c such that every
// conversation ≤ c is complete within the first n events.
func conversationsDone(seed uint64, n int) int {
	s := newScheduler(seed)
	complete := map[int]bool{}
	k := 0
	for range n {
		ev := s.next()
		if ev.Last {
			complete[ev.Conversation] = true
		}
		for complete[k] {
			k++
		}
	}
	return k
}

// step is one message of a conversation template.
type step struct {
	kind       EventKind
	text       string
	edits      int // for edits: index of the step edited
	reposts    int // for re-posts: index of the step re-posted
	repeat     bool
	leadWorthy bool
	phone      string
}

// template is a kind of conversation.
type template struct {
	intent   string
	chat     string // ChatBot or a group key
	customer bool   // the existing customer's kind of conversation
	chitchat bool   // only chit-chat: filtered out
	build    func(r *rand.Rand, p Person) []step
}

// pick returns one of the options.
func pick[T any](r *rand.Rand, options ...T) T { return options[r.IntN(len(options))] }

func msg(text string) step { return step{kind: KindMessage, text: text, leadWorthy: true} }

// filler is a group message the keyword rules must filter out.
func filler(text string) step { return step{kind: KindMessage, text: text} }

// withPhone is a message with the person's number written in format f.
func withPhone(format string, p Person, r *rand.Rand) step {
	return step{kind: KindMessage, text: fmt.Sprintf(format, writtenPhone(p.Phone, r.IntN(len(phoneFormats)))),
		leadWorthy: true, phone: p.Phone}
}

var months = []string{"апреле", "мае", "июне", "сентябре", "октябре", "начале следующего месяца"}

var templates = []template{
	{intent: "renovation", chat: ChatBot, build: func(r *rand.Rand, p Person) []step {
		rooms := pick(r, "однокомнатной", "двухкомнатной", "трёхкомнатной")
		kind := pick(r, "новостройка", "вторичка", "дом 1970-х годов", "панельный дом")
		area := 32 + r.IntN(64)
		first := msg(pick(r,
			fmt.Sprintf("Здравствуйте! Нужен ремонт %s квартиры, %d м², %s.", rooms, area, kind),
			fmt.Sprintf("Добрый день. Интересует ремонт %s квартиры под ключ, площадь %d м², %s.", rooms, area, kind)))
		first.repeat = r.IntN(3) == 0
		return []step{first,
			msg(pick(r, "Сколько по времени займёт и примерно по деньгам?",
				"Черновые материалы можно ваши? Какие сроки?",
				"Хотим начать в "+pick(r, months...)+", успеете?")),
			withPhone(pick(r, "Мой телефон %s, удобно после 18:00.", "Перезвоните, пожалуйста: %s",
				"Лучше звонить на %s, спросить "+p.FirstName+"."), p, r),
		}
	}},
	{intent: "kitchen", chat: ChatBot, build: func(r *rand.Rand, p Person) []step {
		shape := pick(r, "угловую", "прямую", "П-образную")
		n := 28 + r.IntN(12)
		wrong := fmt.Sprintf("Добрый день! Хочу заказать кухню, %s, %d,%d м.", shape, n/10, n%10)
		right := fmt.Sprintf("Добрый день! Хочу заказать кухню, %s, %d,%d м.", shape, (n+2)/10, (n+2)%10)
		steps := []step{msg(wrong), {kind: KindEdit, text: right, edits: 0, leadWorthy: true},
			msg(fmt.Sprintf("Фасады %s, столешница %s. Можно замер в %s?",
				pick(r, "МДФ эмаль", "пластик", "шпон"), pick(r, "под камень", "из кварца", "ЛДСП"),
				pick(r, "субботу", "понедельник", "четверг")))}
		if r.IntN(2) == 0 {
			steps = append(steps, withPhone("Номер для связи: %s", p, r))
		}
		return steps
	}},
	{intent: "windows", chat: ChatBot, build: func(r *rand.Rand, p Person) []step {
		n := 2 + r.IntN(3)
		noun := "окна"
		if n > 4 {
			noun = "окон"
		}
		return []step{
			msg(fmt.Sprintf("Сколько стоит заменить %d %s в %s? Старые деревянные.", n, noun,
				pick(r, "панельном доме", "кирпичном доме", "частном доме"))),
			msg(pick(r, "Нужны ещё откосы и подоконники.", "И москитные сетки, если можно.")),
			{kind: KindContact, leadWorthy: true, phone: p.Phone, repeat: r.IntN(4) == 0},
		}
	}},
	{intent: "price", chat: ChatBot, build: func(r *rand.Rand, p Person) []step {
		first := msg(fmt.Sprintf("Подскажите цену на шкаф-купе %s м, %s.", pick(r, "1,8", "2,0", "2,4"),
			pick(r, "зеркальные двери", "двери с фотопечатью", "фасады ЛДСП")))
		first.repeat = true
		steps := []step{first}
		if r.IntN(2) == 0 {
			steps = append(steps, msg(pick(r, "Спасибо, подумаю и напишу.", "А рассрочка есть?")))
		}
		return steps
	}},
	{intent: "delivery", chat: ChatBot, customer: true, build: func(r *rand.Rand, p Person) []step {
		steps := []step{
			msg(pick(r, "Добрый день! Когда будет доставка по нашему заказу?",
				fmt.Sprintf("Здравствуйте, подскажите, когда привезут заказ № %d?", 4000+r.IntN(900)))),
			msg(pick(r, "Оплачивали на прошлой неделе, менеджер обещал позвонить.",
				"Доставка нужна на "+pick(r, "субботу", "пятницу", "вторник")+", после обеда.")),
		}
		if r.IntN(3) == 0 {
			steps = append(steps, withPhone("Если что, звоните: %s", p, r))
		}
		return steps
	}},
	{intent: "assembly", chat: ChatBot, build: func(r *rand.Rand, p Person) []step {
		city := pick(r, "Химки", "Подольск", "Мытищи", "Балашиха", "Красногорск")
		first := withPhone("Добрый вечер! Нужна сборка мебели после переезда, "+city+". Телефон %s", p, r)
		first.repeat = r.IntN(3) == 0
		return []step{first, msg(pick(r, "Шкаф-купе, кровать и кухонный гарнитур. Когда сможете?",
			"Две кровати и стенка, всё из IKEA. Сколько будет стоить?"))}
	}},
	{intent: "bathroom", chat: GroupRenovation, build: func(r *rand.Rand, p Person) []step {
		return []step{
			msg(fmt.Sprintf("Ищу бригаду на ремонт ванной под ключ, %s. Бюджет до %s ₽.",
				pick(r, "Химки", "Люберцы", "ЮВАО", "Новая Москва", "м. Выхино"), pick(r, "250 000", "300 000", "400 000"))),
			filler("Желательно начать в " + pick(r, months...) + "."),
			withPhone(pick(r, "Кто готов взяться — пишите в личку или звоните %s", "Мастера, отзовитесь: %s"), p, r),
		}
	}},
	{intent: "cosmetic", chat: GroupRenovation, build: func(r *rand.Rand, p Person) []step {
		first := msg(fmt.Sprintf("Посоветуйте мастера: нужен косметический ремонт комнаты, %d м², обои и покраска потолка.", 12+r.IntN(14)))
		return []step{first, filler(pick(r, "Спасибо всем, кто ответил!", "Фото пришлю в личку.")),
			{kind: KindRepost, text: first.text, reposts: 0, leadWorthy: true}}
	}},
	{intent: "windows", chat: GroupRenovation, build: func(r *rand.Rand, p Person) []step {
		return []step{msg(fmt.Sprintf("Нужно поменять окна на балконе и сделать остекление, %s. Кто занимается?",
			pick(r, "Бутово", "Зеленоград", "Реутов", "Марьино")))}
	}},
	{intent: "kitchen", chat: GroupFurniture, build: func(r *rand.Rand, p Person) []step {
		size := pick(r, "2,8", "3,2", "3,6")
		area := pick(r, "ЮАО", "САО", "Одинцово", "Королёв")
		if r.IntN(3) == 0 {
			return []step{withPhone("Нужна кухня на заказ, "+size+" м, "+area+". Звоните %s", p, r)}
		}
		return []step{
			msg(fmt.Sprintf("Нужна кухня на заказ, %s м, %s. Кто делает? Пришлите примеры работ.", size, area)),
			withPhone(pick(r, "Можно в личку или по телефону %s", "Мой номер %s, лучше вечером."), p, r),
		}
	}},
	{intent: "wardrobe", chat: GroupFurniture, build: func(r *rand.Rand, p Person) []step {
		steps := []step{msg(fmt.Sprintf("Хочу заказать шкаф в прихожую, ширина %s м, до потолка. Сколько примерно стоит?",
			pick(r, "1,2", "1,5", "2,1")))}
		if r.IntN(2) == 0 {
			steps = append(steps, filler(pick(r, "Желательно с зеркалом.", "Цвет — светлый дуб.")))
		}
		return steps
	}},
	{intent: "chitchat", chat: GroupRenovation, chitchat: true, build: func(r *rand.Rand, p Person) []step {
		texts := []string{"Всем привет! Вступил в группу, буду читать.", "Спасибо, всё получилось!",
			"Делаем ремонт бесплатно — пишите в личку (реклама)", "Вакансия: требуется плиточник, оплата сдельная.",
			"Кто-нибудь знает, где купить плитку подешевле?", "Соседи сверлят с самого утра, сил нет.",
			"Продам остатки плитки, 5 коробок, недорого."}
		r.Shuffle(len(texts), func(i, j int) { texts[i], texts[j] = texts[j], texts[i] })
		return []step{filler(texts[0]), filler(texts[1])}[:1+r.IntN(2)]
	}},
	{intent: "chitchat", chat: GroupFurniture, chitchat: true, build: func(r *rand.Rand, p Person) []step {
		texts := []string{"Всем доброго дня!", "Продам диван, почти новый, самовывоз.",
			"Вакансия: требуется сборщик мебели в цех.", "Какая фурнитура лучше, Blum или Hettich?",
			"Фото моей новой кухни, спасибо мастерам из группы!", "Подскажите, какой ламинат лучше для кухни?"}
		r.Shuffle(len(texts), func(i, j int) { texts[i], texts[j] = texts[j], texts[i] })
		return []step{filler(texts[0]), filler(texts[1])}[:1+r.IntN(2)]
	}},
}

// conversation is a conversation of the script before scheduling.
type conversation struct {
	Index  int
	Intent string
	Chat   string
	Person Person
	steps  []step
}

// casting generates conversations in order: the template deck, and who
// speaks (new people in index order, sometimes someone who wrote before).
type casting struct {
	seed   uint64
	deck   []int
	round  uint64
	next   int
	newIdx map[Side]int
	used   map[Side][]int
	anna   bool
}

func newCasting(seed uint64) *casting {
	return &casting{seed: seed, newIdx: map[Side]int{SideBot: 1, SideGroups: 0}, used: map[Side][]int{}}
}

func sideOf(chat string) Side {
	if chat == ChatBot {
		return SideBot
	}
	return SideGroups
}

// conversation returns the next conversation.
func (c *casting) conversation() *conversation {
	if len(c.deck) == 0 {
		// Every round plays every template once, in a seeded order, so
		// every feature appears within len(templates) conversations.
		dr := rand.New(rand.NewPCG(c.seed, 0x6465636b^c.round))
		c.deck = dr.Perm(len(templates))
		c.round++
	}
	t := templates[c.deck[0]]
	c.deck = c.deck[1:]
	i := c.next
	c.next++
	r := rand.New(rand.NewPCG(c.seed, uint64(i)<<1|1))
	side := sideOf(t.chat)
	var p Person
	switch {
	case t.customer && (!c.anna || len(c.used[side]) == 0 || r.IntN(2) == 0):
		p = customer
		c.anna = true
	case len(c.used[side]) > 0 && (t.customer || r.IntN(4) == 0):
		p = personAt(side, pick(r, c.used[side]...)) // someone who wrote before
	default:
		p = personAt(side, c.newIdx[side])
		c.newIdx[side]++
		c.used[side] = append(c.used[side], p.Index)
	}
	return &conversation{Index: i, Intent: t.intent, Chat: t.chat, Person: p, steps: t.build(r, p)}
}

// scheduler interleaves conversations, two at a time, never two of the
// same person at once.
type scheduler struct {
	cast    *casting
	r       *rand.Rand
	active  []*running
	waiting *conversation
	seq     int
}

type running struct {
	c    *conversation
	next int
	seqs []int // Seq of each step played
}

func newScheduler(seed uint64) *scheduler {
	return &scheduler{cast: newCasting(seed), r: rand.New(rand.NewPCG(seed, 0x7363686564))}
}

func (s *scheduler) busy(p Person) bool {
	for _, a := range s.active {
		if a.c.Person.Side == p.Side && a.c.Person.Index == p.Index {
			return true
		}
	}
	return false
}

func (s *scheduler) next() Event {
	for len(s.active) < 2 {
		c := s.waiting
		if c == nil {
			c = s.cast.conversation()
		}
		if s.busy(c.Person) {
			s.waiting = c
			break
		}
		s.waiting = nil
		s.active = append(s.active, &running{c: c})
	}
	j := 0
	if n := len(s.active); n > 1 {
		j = s.r.IntN(n)
	} else {
		s.r.Uint64() // one draw per event, however many are active
	}
	a := s.active[j]
	st := a.c.steps[a.next]
	ev := Event{Seq: s.seq, Conversation: a.c.Index, Intent: a.c.Intent, Person: a.c.Person, Chat: a.c.Chat,
		Kind: st.kind, Text: st.text, Repeat: st.repeat && a.c.Chat == ChatBot,
		LeadWorthy: st.leadWorthy || a.c.Chat == ChatBot, Phone: st.phone, Edits: -1, Reposts: -1}
	switch st.kind {
	case KindEdit:
		ev.Edits = a.seqs[st.edits]
	case KindRepost:
		ev.Reposts = a.seqs[st.reposts]
	}
	a.seqs = append(a.seqs, s.seq)
	a.next++
	s.seq++
	if a.next == len(a.c.steps) {
		ev.Last = true
		s.active = append(s.active[:j], s.active[j+1:]...)
	}
	return ev
}

// Describe renders an event for logs: "#12 bot Мария Иванова: text".
func (e Event) Describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "#%d %s %s", e.Seq, e.Chat, e.Person.Name())
	switch e.Kind {
	case KindEdit:
		b.WriteString(" (правка)")
	case KindContact:
		b.WriteString(" (контакт)")
	case KindRepost:
		b.WriteString(" (повтор поста)")
	}
	if e.Text != "" {
		b.WriteString(": " + e.Text)
	}
	return b.String()
}
