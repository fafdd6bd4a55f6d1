package demo

import (
	"fmt"
	"strings"
)

// Side is where a person writes: to the bot, or in the parsed groups. The
// two Telegram fakes are separate worlds (their user ids differ), so a
// person belongs to one side.
type Side string

// Sides.
const (
	SideBot    Side = "bot"    // writes to the bot in a private chat
	SideGroups Side = "groups" // posts in the parsed groups
)

// Person is someone the generator plays. People are a deterministic,
// unbounded sequence per side: person i of a side is always the same name,
// username and phone, whatever the seed, and gets the same Telegram id on
// every start (people are created in the fakes in index order).
type Person struct {
	Side  Side `json:"side"`
	Index int  `json:"index"`
	// FirstName and LastName are what Telegram shows.
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name,omitempty"`
	// Username is without '@'; empty for people who have none.
	Username string `json:"username,omitempty"`
	// Phone is the person's number in E.164 ("+79151234567"); they write
	// it in some messages or share it as a contact.
	Phone string `json:"phone"`
	// Customer marks the demo account's existing customer (Анна Смирнова:
	// amocrmtest.DemoAccount holds her contact, by username, and her open
	// lead): her messages become notes on that lead.
	Customer bool `json:"customer,omitempty"`
}

// Name is the person's full name.
func (p Person) Name() string { return strings.TrimSpace(p.FirstName + " " + p.LastName) }

// customer is bot person 0: the contact "Анна Смирнова" of
// amocrmtest.DemoAccount (username anna_smirnova, phone +79161234567, the
// open lead "Заявка из Telegram: оптовая поставка").
var customer = Person{Side: SideBot, Index: 0, FirstName: "Анна", LastName: "Смирнова",
	Username: "anna_smirnova", Phone: "+79161234567", Customer: true}

var (
	maleFirst = []string{"Александр", "Дмитрий", "Сергей", "Андрей", "Алексей", "Максим", "Евгений",
		"Игорь", "Михаил", "Николай", "Павел", "Роман", "Владимир", "Артём", "Константин", "Денис",
		"Олег", "Юрий", "Виктор", "Григорий", "Тимур", "Руслан", "Илья", "Кирилл"}
	femaleFirst = []string{"Елена", "Ольга", "Наталья", "Татьяна", "Ирина", "Светлана", "Мария",
		"Екатерина", "Юлия", "Анастасия", "Марина", "Людмила", "Галина", "Вера", "Ксения", "Дарья",
		"Алина", "Полина", "Виктория", "Надежда", "Оксана", "Лариса", "Валентина", "Софья"}
	// surnames are [masculine, feminine] forms.
	surnames = [][2]string{{"Иванов", "Иванова"}, {"Кузнецов", "Кузнецова"}, {"Попов", "Попова"},
		{"Васильев", "Васильева"}, {"Соколов", "Соколова"}, {"Михайлов", "Михайлова"},
		{"Новиков", "Новикова"}, {"Фёдоров", "Фёдорова"}, {"Морозов", "Морозова"}, {"Волков", "Волкова"},
		{"Алексеев", "Алексеева"}, {"Лебедев", "Лебедева"}, {"Семёнов", "Семёнова"}, {"Егоров", "Егорова"},
		{"Павлов", "Павлова"}, {"Козлов", "Козлова"}, {"Степанов", "Степанова"}, {"Николаев", "Николаева"},
		{"Орлов", "Орлова"}, {"Андреев", "Андреева"}, {"Макаров", "Макарова"}, {"Никитин", "Никитина"},
		{"Захаров", "Захарова"}, {"Зайцев", "Зайцева"}, {"Соловьёв", "Соловьёва"}, {"Борисов", "Борисова"},
		{"Яковлев", "Яковлева"}, {"Григорьев", "Григорьева"}, {"Романов", "Романова"},
		{"Воробьёв", "Воробьёва"}, {"Белов", "Белова"}, {"Тарасов", "Тарасова"}, {"Комаров", "Комарова"},
		{"Крылов", "Крылова"}, {"Гусев", "Гусева"}, {"Титов", "Титова"}, {"Кудрявцев", "Кудрявцева"},
		{"Баранов", "Баранова"}, {"Куликов", "Куликова"}, {"Жуков", "Жукова"}, {"Калинин", "Калинина"}}
)

// personAt returns person i (i ≥ 0) of side. Bot person 0 is the existing
// customer. Phones are unique within and across sides (bot people have
// +7 915 …, group people +7 977 …) and never one of DemoAccount's numbers.
func personAt(side Side, i int) Person {
	if side == SideBot && i == 0 {
		return customer
	}
	// Mix the index so neighbours differ in every part of the name.
	k := i
	if side == SideGroups {
		k = i + 7
	}
	female := (k*5+k/3)%2 == 1
	first := maleFirst[(k*7)%len(maleFirst)]
	if female {
		first = femaleFirst[(k*11)%len(femaleFirst)]
	}
	pair := surnames[(k*13+k/len(surnames))%len(surnames)]
	last := pair[0]
	if female {
		last = pair[1]
	}
	p := Person{Side: side, Index: i, FirstName: first, LastName: last}
	// Two people in three have a username; it is unique by its number.
	if k%3 != 1 {
		p.Username = fmt.Sprintf("%s_%s%d", translit(first), translit(last), i)
	}
	// Some people hide their last name.
	if k%5 == 3 {
		p.LastName = ""
	}
	prefix := "915"
	if side == SideGroups {
		prefix = "977"
	}
	// 7919 is prime and coprime to 10^7: distinct i give distinct numbers.
	p.Phone = fmt.Sprintf("+7%s%07d", prefix, (3_456_789+i*7919)%10_000_000)
	return p
}

var translitTable = map[rune]string{
	'а': "a", 'б': "b", 'в': "v", 'г': "g", 'д': "d", 'е': "e", 'ё': "e", 'ж': "zh", 'з': "z",
	'и': "i", 'й': "y", 'к': "k", 'л': "l", 'м': "m", 'н': "n", 'о': "o", 'п': "p", 'р': "r",
	'с': "s", 'т': "t", 'у': "u", 'ф': "f", 'х': "kh", 'ц': "ts", 'ч': "ch", 'ш': "sh", 'щ': "sch",
	'ъ': "", 'ы': "y", 'ь': "", 'э': "e", 'ю': "yu", 'я': "ya",
}

// translit writes a Russian word in Latin letters, as people do in
// usernames.
func translit(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if t, ok := translitTable[r]; ok {
			b.WriteString(t)
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// phoneFormats are ways people write a number in a message; each takes
// the ten national digits.
var phoneFormats = []func(d string) string{
	func(d string) string { return fmt.Sprintf("+7 %s %s-%s-%s", d[0:3], d[3:6], d[6:8], d[8:10]) },
	func(d string) string { return fmt.Sprintf("8 (%s) %s-%s-%s", d[0:3], d[3:6], d[6:8], d[8:10]) },
	func(d string) string { return "+7" + d },
	func(d string) string { return fmt.Sprintf("8-%s-%s-%s-%s", d[0:3], d[3:6], d[6:8], d[8:10]) },
	func(d string) string { return fmt.Sprintf("+7(%s)%s%s%s", d[0:3], d[3:6], d[6:8], d[8:10]) },
}

// writtenPhone renders an E.164 Russian number in format f.
func writtenPhone(e164 string, f int) string {
	d := strings.TrimPrefix(e164, "+7")
	return phoneFormats[f%len(phoneFormats)](d)
}
