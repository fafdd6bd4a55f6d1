// Command tgbot-fake serves a fake Telegram Bot API (package tgbottest) for
// trying bots and Bot API libraries in any language without Telegram. It
// prints a bot token and the base URL, then serves until interrupted. POST
// /simulate makes a person write to the bot.
//
//	go run ./examples/tgbot-fake -addr 127.0.0.1:8081
//	curl "$BASE_URL/bot$TOKEN/getMe"
//	curl -d '{"user":"anna","text":"Сколько стоит доставка?"}' $BASE_URL/simulate
//	curl "$BASE_URL/bot$TOKEN/getUpdates"
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/chatterhq/sdk/tgbot/tgbottest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "tgbot-fake:", err)
		os.Exit(1)
	}
}

// simulateRequest is the body of POST /simulate.
type simulateRequest struct {
	ChatID int64  `json:"chat_id"` // 0: the user's private chat with the bot
	User   string `json:"user"`    // username; created on first use
	Name   string `json:"name"`    // first name for a new user (defaults to the username)
	Text   string `json:"text"`
}

// simulator keeps the people and chats of the demo.
type simulator struct {
	srv   *tgbottest.Server
	bot   *tgbottest.Bot
	mu    sync.Mutex
	users map[string]*tgbottest.User
	chats map[int64]*tgbottest.Chat
}

func (s *simulator) user(username, name string) *tgbottest.User {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := strings.ToLower(username)
	if u := s.users[key]; u != nil {
		return u
	}
	u := s.srv.AddUser(username, cmp.Or(name, username))
	s.users[key] = u
	return u
}

func (s *simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "use POST with a JSON body {chat_id, user, text}", http.StatusMethodNotAllowed)
		return
	}
	var req simulateRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		http.Error(w, "bad JSON: "+err.Error(), http.StatusBadRequest)
		return
	}
	req.User = strings.TrimPrefix(strings.TrimSpace(req.User), "@")
	if req.User == "" || strings.TrimSpace(req.Text) == "" {
		http.Error(w, "user and text are required", http.StatusBadRequest)
		return
	}
	u := s.user(req.User, req.Name)
	var chat *tgbottest.Chat
	if req.ChatID == 0 {
		chat = s.srv.PrivateChat(u, s.bot)
	} else {
		s.mu.Lock()
		chat = s.chats[req.ChatID]
		s.mu.Unlock()
		if chat == nil {
			http.Error(w, fmt.Sprintf("unknown chat_id %d (use 0 for a private chat, or the demo group's id)", req.ChatID), http.StatusNotFound)
			return
		}
	}
	m := s.srv.UserWrites(chat, u, req.Text)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]int64{"chat_id": m.ChatID(), "message_id": m.MessageID, "user_id": u.ID})
}

// run parses flags (defaults from TGBOT_FAKE_* variables), starts the fake and
// serves until ctx is done.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("tgbot-fake", flag.ContinueOnError)
	fs.SetOutput(stdout)
	addr := fs.String("addr", cmp.Or(getenv("TGBOT_FAKE_ADDR"), "127.0.0.1:8081"), "listen address (port 0 picks a free port)")
	botName := fs.String("bot", cmp.Or(getenv("TGBOT_FAKE_BOT"), "chatter_demo_bot"), "the bot's username")
	privacy := fs.Bool("privacy", true, "privacy mode: in groups the bot sees only commands, replies and mentions unless it is an admin")
	admin := fs.Bool("admin", true, "make the bot an administrator of the demo group")
	verbose := fs.Bool("v", false, "log requests and webhook deliveries")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	var opts []tgbottest.Option
	if *verbose {
		opts = append(opts, tgbottest.WithLogger(slog.New(slog.NewTextHandler(stdout, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	}
	srv := tgbottest.New(opts...)
	token, bot := srv.AddBot(*botName)
	bot.SetPrivacy(*privacy)
	owner := srv.AddUser("demo_owner", "Владелец")
	group := srv.AddChat(tgbottest.ChatSupergroup, "Demo leads", "", owner)
	srv.AddBotToChat(group, bot, owner)
	if *admin {
		srv.PromoteBot(group, bot, owner, tgbottest.AdminRights())
	}
	sim := &simulator{srv: srv, bot: bot, users: map[string]*tgbottest.User{"demo_owner": owner},
		chats: map[int64]*tgbottest.Chat{group.ID: group}}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", *addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/simulate", sim)
	mux.Handle("/", srv)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	srv.Start()
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()

	base := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, "Telegram Bot API fake is serving\n")
	fmt.Fprintf(stdout, "base_url: %s\n", base)
	fmt.Fprintf(stdout, "token: %s\n", token)
	fmt.Fprintf(stdout, "bot: @%s (id %d)\n", bot.Username(), bot.ID())
	fmt.Fprintf(stdout, "demo_group_id: %d\n", group.ID)
	fmt.Fprintf(stdout, "try: curl %s/bot%s/getMe\n", base, token)
	fmt.Fprintf(stdout, "simulate: curl -d '{\"user\":\"anna\",\"text\":\"Здравствуйте!\"}' %s/simulate\n", base)

	select {
	case <-ctx.Done():
	case err := <-errc:
		srv.Close()
		return fmt.Errorf("serve: %w", err)
	}
	srv.Close() // ends long polls and webhook deliveries first
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
