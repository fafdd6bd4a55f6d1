package chatter

import (
	"errors"
	"testing"
)

func TestParseKey(t *testing.T) {
	t.Parallel()
	for _, k := range []Key{
		{Source: SourceBot, Account: "123", ChatID: -1001, MessageID: 5},
		{Source: SourceParser, Account: "+79990001122", ChatID: 42, MessageID: 1, Revision: 1700000000},
	} {
		got, err := ParseKey(k.String())
		if err != nil || got != k {
			t.Errorf("ParseKey(%q) = %+v, %v; want %+v", k.String(), got, err, k)
		}
	}
	for _, s := range []string{"", "a:b:c", "tgbot:1:x:1", "tgbot:1:1:x", "tgbot:1:1:1@x", ":1:1:1", "tgbot::1:1", "tgbot:1:0:1", "tgbot:1:1:0", "tgbot:1:1:1@-1", "a:b:1:1:1"} {
		if _, err := ParseKey(s); err == nil {
			t.Errorf("ParseKey(%q) succeeded", s)
		}
	}
	var ve *ValidationError
	if _, err := ParseKey("tgbot::1:1"); !errors.As(err, &ve) || ve.Field != "key.account" || !errors.Is(err, ErrInvalid) {
		t.Errorf("ParseKey(no account) = %v", err)
	}
}

func FuzzParseKey(f *testing.F) {
	for _, s := range []string{"tgbot:123:-1001:5", "tgparse:+7999:42:1@1700000000", "a:b:1:1@0", "x:y:+1:01", "", ":::", "a:b:1:1@", "tgbot:1:9223372036854775807:9223372036854775807"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseKey(s)
		if err != nil {
			return
		}
		if err := k.Validate(); err != nil {
			t.Fatalf("ParseKey(%q) returned an invalid key %+v: %v", s, k, err)
		}
		again, err := ParseKey(k.String())
		if err != nil || again != k {
			t.Fatalf("round trip of %q: %q parsed to %+v, %v; want %+v", s, k.String(), again, err, k)
		}
	})
}
