package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/chatterhq/sdk/amocrm/amocrmtest"
)

func noEnv(string) string { return "" }

// leadIDs returns the ids of the "lead N" lines of out.
func leadIDs(t *testing.T, out string) []int64 {
	t.Helper()
	var ids []int64
	for line := range strings.Lines(out) {
		rest, ok := strings.CutPrefix(line, "lead ")
		if !ok {
			continue
		}
		id, err := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
		if err != nil {
			t.Fatalf("bad line %q", line)
		}
		ids = append(ids, id)
	}
	return ids
}

func TestRunInProcessFake(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := run(t.Context(), []string{"-n", "7"}, noEnv, &out); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if !strings.HasPrefix(s, "amoCRM: in-process fake at http://127.0.0.1:") {
		t.Errorf("output starts %q", s[:min(len(s), 60)])
	}
	ids := leadIDs(t, s)
	if len(ids) != 7 || !strings.Contains(s, "created 7 of 7 leads") {
		t.Errorf("output:\n%s", s)
	}
	if !strings.Contains(s, "Заявка из Telegram: оптовая поставка кофе — Анна Смирнова") {
		t.Errorf("sample not used:\n%s", s)
	}
	slices.Sort(ids)
	if len(slices.Compact(ids)) != 7 {
		t.Errorf("duplicate ids: %v", ids)
	}
}

// The "real account" path, pointed at a fake with its rate limit on: the
// leads land in the account, the token never reaches the output.
func TestRunWithCredentials(t *testing.T) {
	t.Parallel()
	srv := amocrmtest.NewServer(t, amocrmtest.WithSeed(amocrmtest.DemoAccount))
	token := srv.LongLivedToken(amocrmtest.AccessTokenTTL)
	env := map[string]string{"AMOCRM_SUBDOMAIN": srv.URL, "AMOCRM_TOKEN": token}
	var out bytes.Buffer
	if err := run(t.Context(), []string{"-n", "60", "-tag", "проверка"}, func(k string) string { return env[k] }, &out); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if strings.Contains(s, token) {
		t.Fatal("the token was printed")
	}
	if !strings.HasPrefix(s, "amoCRM: account "+srv.URL) {
		t.Errorf("output starts %q", s[:min(len(s), 60)])
	}
	ids := leadIDs(t, s)
	if len(ids) != 60 {
		t.Fatalf("%d leads printed:\n%s", len(ids), s)
	}
	for _, id := range ids {
		l, ok := srv.Lead(id)
		if !ok || !slices.Contains(l.Tags, "проверка") || len(l.ContactIDs) != 1 || !strings.HasPrefix(l.Name, "Заявка из Telegram: ") {
			t.Fatalf("lead %d in the account = %+v", id, l)
		}
		ct, _ := srv.Contact(l.ContactIDs[0])
		if len(ct.CustomFieldsValues) == 0 || ct.CustomFieldsValues[0].FieldCode != "PHONE" {
			t.Errorf("contact %d = %+v", ct.ID, ct)
		}
	}
	if got := srv.CountRequests(http.MethodPost, "/api/v4/leads/complex"); got != 2 {
		t.Errorf("%d complex requests for 60 leads, want 2", got)
	}
}

func TestRunErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"zero", []string{"-n", "0"}, nil, "-n must be between"},
		{"too many", []string{"-n", "1001"}, nil, "-n must be between"},
		{"not a number", []string{"-n", "пять"}, nil, "invalid value"},
		{"extra args", []string{"leads"}, nil, "unexpected arguments"},
		{"empty tag", []string{"-tag", " "}, nil, "-tag must not be empty"},
		{"subdomain only", nil, map[string]string{"AMOCRM_SUBDOMAIN": "example"}, "set both"},
		{"token only", nil, map[string]string{"AMOCRM_TOKEN": "secret-token-value"}, "set both"},
		{"bad subdomain", nil, map[string]string{"AMOCRM_SUBDOMAIN": "www.amocrm.ru", "AMOCRM_TOKEN": "secret-token-value"}, "common site"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			err := run(t.Context(), tc.args, func(k string) string { return tc.env[k] }, &out)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
			if strings.Contains(out.String()+err.Error(), "secret-token-value") {
				t.Error("token leaked")
			}
		})
	}
}

func TestRunCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var out bytes.Buffer
	err := run(ctx, []string{"-n", "3"}, noEnv, &out)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if !strings.Contains(out.String(), "created 0 of 3 leads") {
		t.Errorf("output:\n%s", out.String())
	}
}

func TestRunHelp(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := run(t.Context(), []string{"-h"}, noEnv, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "-n int") {
		t.Errorf("help:\n%s", out.String())
	}
}
