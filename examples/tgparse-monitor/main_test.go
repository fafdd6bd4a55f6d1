package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

func TestRunTestServerMode(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	getenv := func(string) string { return "" }
	if err := run(ctx, []string{"-max", "3", "-lang", "en"}, getenv, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	s := out.String()
	for _, want := range []string{
		"signed in as @monitor_acc",
		"Кто делает ремонт квартиры под ключ",
		`rule "ремонт -бесплатно": ремонт`,
		"Нужен ремонт офиса",
		"Срочно: ремонт ванной под ключ", // the live message
		"https://t.me/remont_chat/1",
		"[ok] Telegram account demo",
		"diagnostics:",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	for _, unwanted := range []string{"диван", "бесплатно (реклама)", "Вакансия", "344583e45741c457fe1862106095a5eb"} {
		if strings.Contains(s, unwanted) {
			t.Errorf("output has %q:\n%s", unwanted, s)
		}
	}
}

func TestRunErrors(t *testing.T) {
	var out bytes.Buffer
	env := map[string]string{"TGPARSE_API_ID": "x"}
	if err := run(t.Context(), nil, func(k string) string { return env[k] }, &out); err == nil || !strings.Contains(err.Error(), "TGPARSE_API_ID") {
		t.Fatalf("bad api id: %v", err)
	}
	env["TGPARSE_API_ID"] = "123"
	if err := run(t.Context(), nil, func(k string) string { return env[k] }, &out); err == nil || !strings.Contains(err.Error(), "TGPARSE_SEAL_KEY") {
		t.Fatalf("no seal key: %v", err)
	}
	if err := run(t.Context(), []string{"-rules", `re:(`}, func(string) string { return "" }, &out); err == nil || !strings.Contains(err.Error(), "rules") {
		t.Fatalf("bad rules: %v", err)
	}
	if err := run(t.Context(), []string{"-nope"}, func(string) string { return "" }, &out); err == nil {
		t.Fatal("unknown flag accepted")
	}
}
