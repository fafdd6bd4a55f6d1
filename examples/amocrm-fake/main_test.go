package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0"}, func(string) string { return "" }, pw)
		_ = pw.Close()
	}()

	values := map[string]string{}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	for line := range lines {
		if k, v, ok := strings.Cut(line, ": "); ok {
			values[k] = v
		}
		if strings.HasPrefix(line, "try:") {
			break
		}
	}
	go func() {
		for range lines { // keep draining
		}
	}()
	for _, k := range []string{"base_url", "client_id", "client_secret", "access_token", "long_lived_token", "auth_code"} {
		if values[k] == "" {
			t.Fatalf("%s not printed; got %v", k, values)
		}
	}
	for _, tok := range []string{values["access_token"], values["long_lived_token"]} {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", values["base_url"]+"/api/v4/account", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET /api/v4/account: %d", resp.StatusCode)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
}

func TestRunBadFlag(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	if err := run(t.Context(), []string{"-nope"}, func(string) string { return "" }, &out); err == nil {
		t.Error("run accepted an unknown flag")
	}
}
