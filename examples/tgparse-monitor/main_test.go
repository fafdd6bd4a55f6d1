package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/chattertest"
	"github.com/chatterhq/sdk/tgparse"
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

// TestRunRealUnreachable: a real-mode run against a Telegram that does not
// answer ends with the bilingual explanation, not a panic.
func TestRunRealUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	env := map[string]string{
		"TGPARSE_API_ID": "12345", "TGPARSE_API_HASH": "344583e45741c457fe1862106095a5eb",
		"TGPARSE_PHONE": "+79991234567", "TGPARSE_SEAL_KEY": strings.Repeat("ab", 32),
		"TGPARSE_DC_ADDR": addr,
	}
	for _, lang := range []string{"ru", "en"} {
		t.Run(lang, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second) // the bound of the test
			defer cancel()
			stop := time.AfterFunc(time.Second, cancel) // as a Ctrl-C while connecting
			defer stop.Stop()
			var out bytes.Buffer
			args := []string{"-db", filepath.Join(t.TempDir(), "m.db"), "-chats", "@some_channel", "-lang", lang}
			err := run(ctx, args, func(k string) string { return env[k] }, &out)
			require.Error(t, err, out.String())
			want := map[string]string{"ru": "Telegram недоступен: проверьте сеть или прокси", "en": "Telegram is unreachable: check the network or the proxy"}[lang]
			require.Contains(t, err.Error(), want)
			require.ErrorIs(t, err, tgparse.ErrUnreachable)
			require.NotContains(t, err.Error()+out.String(), env["TGPARSE_API_HASH"])
		})
	}
	env["TGPARSE_DC_ADDR"] = "not an address"
	err = run(t.Context(), []string{"-db", filepath.Join(t.TempDir(), "m.db"), "-chats", "@x"}, func(k string) string { return env[k] }, io.Discard)
	require.ErrorContains(t, err, "TGPARSE_DC_ADDR")
}

// nilLogin answers every step with neither a result nor an error.
type nilLogin struct{}

func (nilLogin) SendCode(context.Context, tgparse.Account) (*tgparse.CodeState, error) {
	return nil, nil
}

func (nilLogin) SignIn(context.Context, *tgparse.CodeState, string) (*tgparse.Self, error) {
	return nil, nil
}

func (nilLogin) Password(context.Context, *tgparse.CodeState, string) (*tgparse.Self, error) {
	return nil, nil
}

// TestSignInNilState: signIn does not dereference a missing code state.
func TestSignInNilState(t *testing.T) {
	store := chattertest.NewMemStore()
	acct := tgparse.Account{ID: "main", Phone: "+79991234567", APIID: 1, APIHash: "344583e45741c457fe1862106095a5eb"}
	var out bytes.Buffer
	err := signIn(t.Context(), nilLogin{}, store, acct, func(string) string { return "" }, &out, "en")
	require.ErrorContains(t, err, "no code state")
	_, err = store.GetSetting(t.Context(), workspace, "tgparse-monitor.code_state")
	require.ErrorIs(t, err, chatter.ErrNotFound, "a missing state was saved")
}
