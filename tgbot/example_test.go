package tgbot_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/tgbot"
	"github.com/chatterhq/sdk/tgbot/tgbottest"
)

// A Source in long-polling mode hands each message to the handler; here the
// handler prints it and stops the source.
func ExampleSource_polling() {
	fake := tgbottest.New()
	api := httptest.NewServer(fake)
	defer api.Close()
	defer fake.Close()
	token, bot := fake.AddBot("shop_bot")
	anna := fake.AddUser("anna_p", "Анна")
	fake.UserWrites(fake.PrivateChat(anna, bot), anna, "Сколько стоит доставка?")

	client, err := tgbot.NewClient(token, tgbot.WithBaseURL(api.URL))
	if err != nil {
		panic(err)
	}
	src, err := tgbot.NewSource(tgbot.Config{Client: client, Workspace: "acme", PollTimeout: time.Second})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	err = src.Run(ctx, chatter.HandlerFunc(func(_ context.Context, m *chatter.Message) error {
		fmt.Println(m.Key)
		fmt.Println(m.Chat.Type, m.Sender.Name(), "@"+m.Sender.Username+":", m.Text)
		cancel() // the message is "durable": stop after it
		return nil
	}))
	fmt.Println("run:", err)
	// Output:
	// tgbot:7000000001:100000002:1
	// private Анна @anna_p: Сколько стоит доставка?
	// run: <nil>
}

// In webhook mode Run registers the webhook and WebhookHandler serves
// Telegram's POSTs; it answers 200 only after the handler returned nil.
func ExampleSource_WebhookHandler() {
	fake := tgbottest.New(tgbottest.WithWebhookRetry(10*time.Millisecond, 100*time.Millisecond, 100))
	api := httptest.NewServer(fake)
	defer api.Close()
	defer fake.Close()
	fake.Start() // webhook deliveries
	token, bot := fake.AddBot("shop_bot")
	owner := fake.AddUser("owner", "Olga")
	news := fake.AddChat(tgbottest.ChatChannel, "Shop News", "shop_news", owner)
	fake.AddBotToChat(news, bot, owner)

	client, err := tgbot.NewClient(token, tgbot.WithBaseURL(api.URL))
	if err != nil {
		panic(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	src, err := tgbot.NewSource(tgbot.Config{Client: client, Workspace: "acme", Mode: tgbot.ModeWebhook,
		SecretToken: "s3cret", WebhookURL: "http://" + ln.Addr().String() + "/telegram"})
	if err != nil {
		panic(err)
	}
	hook := &httptest.Server{Listener: ln, Config: &http.Server{Handler: src.WebhookHandler()}}
	hook.Start()
	defer hook.Close()

	ctx, cancel := context.WithCancel(context.Background())
	fake.ChannelPost(news, "Новая коллекция уже в продаже")
	err = src.Run(ctx, chatter.HandlerFunc(func(_ context.Context, m *chatter.Message) error {
		fmt.Println(m.Chat.Title, m.Link)
		fmt.Println(m.Text)
		cancel()
		return nil
	}))
	fmt.Println("run:", err)
	// Output:
	// Shop News https://t.me/shop_news/1
	// Новая коллекция уже в продаже
	// run: <nil>
}

// Checks tell an operator what is wrong and what to do, in Russian and English.
func ExampleChatCheck() {
	fake := tgbottest.New()
	api := httptest.NewServer(fake)
	defer api.Close()
	defer fake.Close()
	token, bot := fake.AddBot("shop_bot")
	owner := fake.AddUser("owner", "Olga")
	group := fake.AddChat(tgbottest.ChatSupergroup, "Leads", "", owner)
	fake.AddBotToChat(group, bot, owner) // a member with privacy mode on

	client, _ := tgbot.NewClient(token, tgbot.WithBaseURL(api.URL))
	r := tgbot.ChatCheck(client, group.ID, nil).Run(context.Background())
	fmt.Println(r.Status)
	fmt.Println(r.Cause.RU)
	fmt.Println(r.Remedy.EN)
	// Output:
	// fail
	// Бот не администратор и у него включён режим приватности: он видит только команды, ответы ему и упоминания, а не все сообщения.
	// Make the bot an administrator of the chat, or disable privacy mode in @BotFather (/setprivacy → Disable), then remove the bot from the chat and add it again.
}
