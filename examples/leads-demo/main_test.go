package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

func TestRunDeliversTheConversation(t *testing.T) {
	var out bytes.Buffer
	getenv := func(string) string { return "" }
	if err := run(t.Context(), []string{"-fast", "-timeout", "2m"}, getenv, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	s := out.String()
	t.Log(s)
	for _, want := range []string{
		"Сообщений из Telegram: 9 (уникальных: 8)",
		"«Мария: Здравствуйте! Хочу заказать кухню на за…»",
		"«Алексей: Ищу бригаду на ремонт ванной под ключ,…»",
		"Мария Ковалёва telegram_id=5011 username=maria_k",
		"Дмитрий Орлов telegram_id=5014 username=— телефон=+79265554433",
		"Анна Смирнова telegram_id=5013 username=anna_smirnova",
		"amocrm.fields      ok",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	// 3 new leads (Мария, Алексей, Дмитрий) next to the 2 of the account.
	if got := len(regexp.MustCompile(`(?m)^  #\d+ «.*\(из сообщения `).FindAllString(s, -1)); got != 3 {
		t.Errorf("leads created from messages = %d, want 3", got)
	}
	if got := strings.Count(s, " delivered "); got != 8 {
		t.Errorf("delivered ledger entries = %d, want 8", got)
	}
	// Anna is the account's existing contact: her message is a note on her open lead.
	if !regexp.MustCompile(`tgbot:7000000001:5013:1\s+delivered\s+попыток 1\s+примечание #\d+ к сделке #20000001\b`).MatchString(s) {
		t.Error("Anna's message did not become a note on her existing lead")
	}
	// Dmitry wrote Oleg's phone but is someone else: Oleg keeps his Telegram id.
	if !strings.Contains(s, "Олег Кузнецов telegram_id=123456789") {
		t.Error("Oleg's contact was changed")
	}
	if strings.Count(s, "новая сделка") != 3 || strings.Count(s, "примечание #") < 5+3 {
		t.Errorf("ledger does not show 3 new leads and 5 notes")
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	var out bytes.Buffer
	if err := run(t.Context(), []string{"-nope"}, func(string) string { return "" }, &out); err == nil {
		t.Fatal("want an error for an unknown flag")
	}
}
