package main

import (
	"fmt"
	"time"

	"github.com/chatterhq/sdk/chatter"
)

const (
	workspace  = "demo"
	botAccount = "7000000001"
	groupID    = -1001234567890
)

var start = time.Date(2025, time.March, 14, 9, 30, 0, 0, time.UTC)

type who struct {
	id                        int64
	username, first, last, ph string
}

var (
	maria  = who{id: 5011, username: "maria_k", first: "Мария", last: "Ковалёва"}
	alexey = who{id: 5012, username: "alex_stroy", first: "Алексей", last: "Волков"}
	anna   = who{id: 5013, username: "anna_smirnova", first: "Анна", last: "Смирнова"} // already a customer in amoCRM
	dmitry = who{id: 5014, first: "Дмитрий", last: "Орлов"}                            // writes Oleg's phone number
)

// conversation is the scripted Telegram traffic: private messages to the bot
// and posts in a group, one duplicate delivery and one edit.
func conversation() []*chatter.Message {
	var out []*chatter.Message
	add := func(chatID, msgID int64, p who, minute int, text string) *chatter.Message {
		m := &chatter.Message{
			Workspace: workspace,
			Key:       chatter.Key{Source: chatter.SourceBot, Account: botAccount, ChatID: chatID, MessageID: msgID},
			Sender:    chatter.Sender{ID: p.id, Username: p.username, FirstName: p.first, LastName: p.last, Phone: p.ph, Language: "ru"},
			Text:      text,
			Time:      start.Add(time.Duration(minute) * time.Minute),
		}
		if chatID < 0 {
			m.Chat = chatter.Chat{ID: chatID, Type: chatter.ChatSupergroup, Title: "Ремонт квартир — Москва", Username: "remont_msk"}
			m.Link = fmt.Sprintf("https://t.me/remont_msk/%d", msgID)
		} else {
			m.Chat = chatter.Chat{ID: chatID, Type: chatter.ChatPrivate, Title: p.first + " " + p.last}
		}
		out = append(out, m)
		return m
	}
	add(maria.id, 1, maria, 0, "Здравствуйте! Хочу заказать кухню на заказ, примерно 3 метра.")
	add(groupID, 501, alexey, 1, "Ищу бригаду на ремонт ванной под ключ, бюджет до 300 000 ₽.")
	add(maria.id, 2, maria, 2, "Мой телефон +7 903 111-22-33, звоните после 18:00.")
	add(anna.id, 1, anna, 3, "Добрый день! Когда будет отгрузка по нашему заказу?")
	dup := add(groupID, 502, alexey, 4, "Желательно начать в апреле, квартира в Химках.")
	out = append(out, dup) // the source hands the same update twice
	add(groupID, 503, dmitry, 5, "Здравствуйте, мне нужен замер окон. Рабочий номер +7 926 555-44-33")
	edited := add(maria.id, 3, maria, 6, "И ещё вопрос: сколько стоит доставка?")
	fix := *edited // edited a minute later: a new revision with the edit's time
	fix.Time = edited.Time.Add(time.Minute)
	fix.Key.Revision = fix.Time.Unix()
	fix.Text = "И ещё вопрос: сколько стоит доставка и сборка?"
	fix.Edited = true
	out = append(out, &fix)
	return out
}
