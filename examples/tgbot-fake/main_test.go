package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chatterhq/sdk/tgbot"
)

func TestRunServesAndSimulates(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, []string{"-addr", "127.0.0.1:0", "-bot", "test_bot"}, func(string) string { return "" }, pw)
		pw.Close()
	}()
	info := map[string]string{}
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ": ")
		if ok {
			info[k] = v
		}
		if k == "demo_group_id" {
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	base, token := info["base_url"], info["token"]
	if !strings.HasPrefix(base, "http://127.0.0.1:") || token == "" {
		t.Fatalf("output: %v", info)
	}

	c, err := tgbot.NewClient(token, tgbot.WithBaseURL(base))
	if err != nil {
		t.Fatal(err)
	}
	me, err := c.GetMe(t.Context())
	if err != nil || me.Username != "test_bot" {
		t.Fatalf("getMe: %+v %v", me, err)
	}

	post := func(body string) int {
		resp, err := http.Post(base+"/simulate", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(`{"user":"anna","text":"Сколько стоит доставка?"}`); code != 200 {
		t.Fatalf("simulate: %d", code)
	}
	if code := post(`{"chat_id":` + info["demo_group_id"] + `,"user":"bob","text":"нужен счёт"}`); code != 200 {
		t.Fatalf("simulate in group: %d", code)
	}
	for body, want := range map[string]int{`{"user":"anna"}`: 400, `not json`: 400, `{"chat_id":-5,"user":"a","text":"x"}`: 404} {
		if code := post(body); code != want {
			t.Errorf("%s: %d, want %d", body, code, want)
		}
	}

	ups, err := c.GetUpdates(t.Context(), &tgbot.GetUpdatesParams{Timeout: 5})
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, u := range ups {
		if m, _ := u.AnyMessage(); m != nil && m.Text != "" {
			texts = append(texts, m.Text)
		}
	}
	if strings.Join(texts, "|") != "Сколько стоит доставка?|нужен счёт" {
		t.Fatalf("updates: %q", texts)
	}

	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not stop")
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	var out strings.Builder
	if err := run(t.Context(), []string{"-nope"}, func(string) string { return "" }, &out); err == nil {
		t.Fatal("bad flag accepted")
	}
	if err := run(t.Context(), []string{"-addr", "256.0.0.1:99999"}, func(string) string { return "" }, &out); err == nil {
		t.Fatal("bad address accepted")
	}
}
