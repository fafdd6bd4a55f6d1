package main

import (
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	if err := run(t.Context(), nil, func(string) string { return "" }, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	got := out.String()
	for _, want := range []string{
		"«Ирина: Здравствуйте! Сколько стоят пластиковые…»",
		"примечание: И ещё: есть ли рассрочка?",
		"«Павел: Нужен замер балкона",
		"«Олег: Коллеги, кто делает остекление коттедже…»",
		"filtered  отфильтровано: команда бота",
		"delivered примечание к сделке",
		"Новая заявка из Telegram",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	// Three customers, three leads: the follow-up is a note, /start is no lead.
	if n := strings.Count(got, "новая сделка #"); n != 3 {
		t.Errorf("%d new leads, want 3:\n%s", n, got)
	}
	if n := strings.Count(got, "Новая заявка из Telegram"); n != 3 {
		t.Errorf("%d manager notifications, want 3:\n%s", n, got)
	}
}

func TestRunHelpAndBadFlag(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	if err := run(t.Context(), []string{"-h"}, func(string) string { return "" }, &out); err != nil {
		t.Errorf("-h: %v", err)
	}
	if err := run(t.Context(), []string{"-nope"}, func(string) string { return "" }, &out); err == nil {
		t.Error("unknown flag accepted")
	}
}
