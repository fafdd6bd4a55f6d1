package chattertest

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/chatterhq/sdk/chatter"
)

// Defaults used by NewMessage.
const (
	// TestBotAccount is the source account of messages built by NewMessage.
	TestBotAccount = "7000000001"
	// DefaultText is the text NewMessage uses when given "".
	DefaultText = "Здравствуйте! Нужен ремонт ванной комнаты под ключ, примерно 6 м². " +
		"Бюджет до 300 000 ₽. Позвоните, пожалуйста: +7 916 123-45-67, Ирина."
)

// BaseTime is the time of message 0 built by NewMessage; message n was sent n
// seconds later. It is fixed so that examples print stable output.
var BaseTime = time.Date(2025, time.March, 14, 9, 30, 0, 0, time.UTC)

// NewMessage returns a valid, realistic message from a Telegram bot source
// (chatter.SourceBot, account TestBotAccount) in workspace ws: a customer
// writing in Russian to a renovation company's group (chatID < 0) or to its
// bot in private (chatID > 0). text "" means DefaultText. The message time is
// BaseTime plus msgID seconds, the sender's id is derived from msgID, and Raw
// holds a Bot API-like JSON payload. Every call returns a new value.
func NewMessage(ws string, chatID, msgID int64, text string) *chatter.Message {
	if text == "" {
		text = DefaultText
	}
	at := BaseTime.Add(time.Duration(msgID) * time.Second)
	senderID := 500000000 + msgID%1000
	m := &chatter.Message{
		Workspace: ws,
		Key: chatter.Key{
			Source:    chatter.SourceBot,
			Account:   TestBotAccount,
			ChatID:    chatID,
			MessageID: msgID,
		},
		Sender: chatter.Sender{
			ID:        senderID,
			Username:  "irina_smirnova",
			FirstName: "Ирина",
			LastName:  "Смирнова",
			Language:  "ru",
		},
		Text: text,
		Time: at,
	}
	chatType := "private"
	if chatID < 0 {
		chatType = "supergroup"
		m.Chat = chatter.Chat{ID: chatID, Type: chatter.ChatSupergroup, Title: "Ремонт квартир — Москва", Username: "remont_msk"}
		m.Link = fmt.Sprintf("https://t.me/remont_msk/%d", msgID)
	} else {
		m.Chat = chatter.Chat{ID: chatID, Type: chatter.ChatPrivate, Title: "Ирина Смирнова"}
	}
	raw, err := json.Marshal(map[string]any{
		"message_id": msgID,
		"date":       at.Unix(),
		"chat":       map[string]any{"id": chatID, "type": chatType},
		"from":       map[string]any{"id": senderID, "first_name": "Ирина", "last_name": "Смирнова", "username": "irina_smirnova", "language_code": "ru"},
		"text":       text,
	})
	if err != nil { // unreachable: the map holds only marshalable values
		panic(err)
	}
	m.Raw = raw
	return m
}
