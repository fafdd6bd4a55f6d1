package tgparse_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gotd/td/tg"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/chattertest"
	"github.com/chatterhq/sdk/chatter/keyword"
	"github.com/chatterhq/sdk/tgparse"
	"github.com/chatterhq/sdk/tgparse/tgparsetest"
)

func ExampleParseLink() {
	for _, s := range []string{"@Remont_Chat", "https://t.me/remont_chat/15", "t.me/c/1234567890/45", "https://t.me/+AbCdEf", "t.me/share/url"} {
		l, err := tgparse.ParseLink(s)
		if err != nil {
			fmt.Println(tgparse.LinkProblem(err).EN)
			continue
		}
		fmt.Println(l, l.IsInvite())
	}
	// Output:
	// @remont_chat false
	// https://t.me/remont_chat/15 false
	// https://t.me/c/1234567890/45 false
	// https://t.me/+AbCdEf true
	// the link does not point at a chat
}

func ExampleNormalize() {
	ents := tgparse.NewEntities(
		[]tg.UserClass{&tg.User{ID: 42, Username: "anna", FirstName: "Анна"}},
		[]tg.ChatClass{&tg.Channel{ID: 1234567890, Title: "Ремонт", Username: "remont_chat", Megagroup: true}})
	m, err := tgparse.Normalize("ws", "tgparse", &tg.Message{
		ID: 15, PeerID: &tg.PeerChannel{ChannelID: 1234567890}, FromID: &tg.PeerUser{UserID: 42},
		Date: int(time.Date(2026, 11, 24, 9, 30, 0, 0, time.UTC).Unix()), Message: "Нужен ремонт квартиры",
	}, ents)
	if err != nil {
		panic(err)
	}
	fmt.Println(m.Key)
	fmt.Println(m.Chat.Type, m.Chat.Title, m.Sender.Name(), m.Time.Format(time.RFC3339))
	fmt.Println(m.Link)
	// Output:
	// tgparse:tgparse:-1001234567890:15
	// supergroup Ремонт Анна 2026-11-24T09:30:00Z
	// https://t.me/remont_chat/15
}

// ExampleSource monitors a chat of the in-process Telegram for keywords.
func ExampleSource() {
	ctx := context.Background()
	srv, err := tgparsetest.Start(ctx)
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	srv.AddUser("+79990000001", "parser_acc", "Parser")
	ch := srv.AddChannel("remont_chat", "Ремонт", false)
	srv.Post(ctx, ch, nil, "Нужен ремонт квартиры")
	srv.Post(ctx, ch, nil, "Продам диван")

	store := chattertest.NewMemStore()
	sealer, _ := chatter.NewSealer("k1", map[string][]byte{"k1": make([]byte, 32)})
	conn := tgparse.Connection{Workspace: "ws", Store: store, Sealer: sealer, Endpoint: srv.Endpoint()}
	accounts, _ := tgparse.NewAccountStore(store, sealer, "ws")
	acct := tgparse.Account{ID: "acc1", Phone: "+79990000001", APIID: 17349, APIHash: "344583e45741c457fe1862106095a5eb"}

	// Step-by-step login, as a UI drives it.
	login, _ := tgparse.NewLogin(conn, accounts)
	state, err := login.SendCode(ctx, acct)
	if err != nil {
		panic(err)
	}
	if _, err := login.SignIn(ctx, state, "00000"); errors.Is(err, tgparse.ErrCodeInvalid) {
		var e *tgparse.Error
		errors.As(err, &e)
		fmt.Println("wrong code:", e.Message().RU)
	}
	self, err := login.SignIn(ctx, state, srv.Code(acct.Phone))
	if err != nil {
		panic(err)
	}
	fmt.Println("signed in as", self.Username)

	rules, _ := keyword.Compile(keyword.Config{Rules: keyword.ParseRules("ремонт")})
	src, err := tgparse.NewSource(tgparse.SourceConfig{
		Connection: conn, Accounts: []tgparse.Account{acct},
		Chats:  []tgparse.ChatConfig{{Ref: "https://t.me/remont_chat"}},
		Depth:  tgparse.Depth{Count: 100},
		Filter: rules,
	})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- src.Run(ctx, chatter.HandlerFunc(func(ctx context.Context, m *chatter.Message) error {
			fmt.Println(m.Text, m.Link)
			return nil
		}))
	}()
	for src.Snapshot().Chats[0].Checkpoint < 2 { // both messages done
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		panic(err)
	}
	cs := src.Snapshot().Chats[0]
	fmt.Printf("scanned %d, accepted %d, checkpoint %d\n", cs.Scanned, cs.Accepted, cs.Checkpoint)
	// Output:
	// wrong code: неверный код подтверждения
	// signed in as parser_acc
	// Нужен ремонт квартиры https://t.me/remont_chat/1
	// scanned 2, accepted 1, checkpoint 2
}
