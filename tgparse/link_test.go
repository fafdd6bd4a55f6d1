package tgparse

import (
	"errors"
	"strings"
	"testing"

	"github.com/chatterhq/sdk/chatter"
)

func TestParseLink(t *testing.T) {
	tests := []struct {
		in   string
		want Link
	}{
		{"@Leads_Channel", Link{Username: "leads_channel"}},
		{"leads_channel", Link{Username: "leads_channel"}},
		{"  t.me/leads_channel  ", Link{Username: "leads_channel"}},
		{"https://t.me/leads_channel", Link{Username: "leads_channel"}},
		{"http://telegram.me/leads_channel/", Link{Username: "leads_channel"}},
		{"https://telegram.dog/leads_channel/123", Link{Username: "leads_channel", MessageID: 123}},
		{"https://t.me/leads_channel/123?single", Link{Username: "leads_channel", MessageID: 123}},
		{"https://t.me/forum_group/7/123#x", Link{Username: "forum_group", MessageID: 123}},
		{"https://t.me/s/leads_channel", Link{Username: "leads_channel"}},
		{"https://t.me/s/leads_channel/9", Link{Username: "leads_channel", MessageID: 9}},
		{"t.me/c/1234567890/45", Link{ChannelID: 1234567890, MessageID: 45}},
		{"https://t.me/c/1234567890", Link{ChannelID: 1234567890}},
		{"https://t.me/c/1234567890/3/45", Link{ChannelID: 1234567890, MessageID: 45}},
		{"-1001234567890", Link{ChannelID: 1234567890}},
		{"https://t.me/+AbC_d-123", Link{InviteHash: "AbC_d-123"}},
		{"t.me/joinchat/AbCd123", Link{InviteHash: "AbCd123"}},
		{"tg://resolve?domain=leads_channel&post=5", Link{Username: "leads_channel", MessageID: 5}},
		{"tg://join?invite=AbCd", Link{InviteHash: "AbCd"}},
		{"tg://privatepost?channel=777&post=3", Link{ChannelID: 777, MessageID: 3}},
	}
	for _, tt := range tests {
		got, err := ParseLink(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseLink(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseLinkErrors(t *testing.T) {
	for _, in := range []string{
		"", "@", "@ab", "@1abc", "@name with space", "https://example.com/leads", "t.me/", "t.me/share/url",
		"t.me/c/abc/1", "t.me/c/0/1", "t.me/c/1234567890123/1", "t.me/name/0", "t.me/name/-1", "t.me/name/x",
		"t.me/name/1/2/3", "t.me/+", "t.me/+a/b", "t.me/joinchat/", "t.me/+bad!hash", "-42", "12345",
		"tg://resolve?domain=a", "tg://settings", "tg://privatepost?channel=x", strings.Repeat("a", 600),
		"https://t.me/" + strings.Repeat("a", 33),
	} {
		l, err := ParseLink(in)
		if err == nil {
			t.Errorf("ParseLink(%q) = %+v, want an error", in, l)
			continue
		}
		if !errors.Is(err, ErrLinkInvalid) || !errors.Is(err, chatter.ErrInvalid) || LinkProblem(err).RU == "" {
			t.Errorf("ParseLink(%q): err = %v, want ErrLinkInvalid with a ru/en problem", in, err)
		}
	}
}

func TestLinkStringRoundTrip(t *testing.T) {
	for _, in := range []string{"@leads", "https://t.me/leads/5", "https://t.me/c/123/45", "https://t.me/c/123", "https://t.me/+AbC"} {
		l, err := ParseLink(in)
		if err != nil {
			t.Fatal(err)
		}
		if l.String() != in {
			t.Errorf("String(%q) = %q", in, l.String())
		}
	}
}

func FuzzParseLink(f *testing.F) {
	for _, s := range []string{"@leads_channel", "t.me/leads/1", "https://t.me/c/123/45", "t.me/+hash", "t.me/joinchat/h",
		"tg://resolve?domain=abcd&post=1", "tg://privatepost?channel=1&post=2", "-1001234567890", "https://t.me/s/abcd", "%zz", "tg:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseLink(s)
		if err != nil {
			if !errors.Is(err, ErrLinkInvalid) {
				t.Fatalf("ParseLink(%q): untyped error %v", s, err)
			}
			return
		}
		set := 0
		for _, ok := range []bool{l.Username != "", l.ChannelID != 0, l.InviteHash != ""} {
			if ok {
				set++
			}
		}
		if set != 1 || l.MessageID < 0 || l.ChannelID < 0 || l.ChannelID > maxChannelID {
			t.Fatalf("ParseLink(%q) = %+v", s, l)
		}
		// The canonical form parses to the same link.
		l2, err := ParseLink(l.String())
		if err != nil || l2 != l {
			t.Fatalf("ParseLink(%q) = %+v; its String %q parses to %+v, %v", s, l, l.String(), l2, err)
		}
	})
}

func TestParseProxy(t *testing.T) {
	tests := []struct {
		in   string
		want Proxy
		red  string
	}{
		{"socks5://u:p@127.0.0.1:1080", Proxy{Kind: ProxySOCKS5, Addr: "127.0.0.1:1080", User: "u", Password: "p"}, "socks5://u:***@127.0.0.1:1080"},
		{"socks5h://proxy.example:1080", Proxy{Kind: ProxySOCKS5, Addr: "proxy.example:1080"}, "socks5://proxy.example:1080"},
		{"tg://socks?server=1.2.3.4&port=1080&user=a&pass=b", Proxy{Kind: ProxySOCKS5, Addr: "1.2.3.4:1080", User: "a", Password: "b"}, "socks5://a:***@1.2.3.4:1080"},
	}
	for _, tt := range tests {
		got, err := ParseProxy(tt.in)
		if err != nil || got.Kind != tt.want.Kind || got.Addr != tt.want.Addr || got.User != tt.want.User || got.Password != tt.want.Password {
			t.Errorf("ParseProxy(%q) = %+v, %v", tt.in, got, err)
		}
		if got.Redacted() != tt.red {
			t.Errorf("Redacted(%q) = %q, want %q", tt.in, got.Redacted(), tt.red)
		}
	}
	secret := "ee" + strings.Repeat("ab", 16)
	for _, in := range []string{"mtproxy://1.2.3.4:443?secret=" + secret, "https://t.me/proxy?server=1.2.3.4&port=443&secret=" + secret} {
		p, err := ParseProxy(in)
		if err != nil || p.Kind != ProxyMTProxy || len(p.Secret) != 17 || strings.Contains(p.Redacted(), "ab") {
			t.Errorf("ParseProxy(%q) = %+v, %v", in, p, err)
		}
	}
	for _, in := range []string{"", "http://1.2.3.4:80", "socks5://nohost", "socks5://h:0", "socks5://h:70000", "mtproxy://h:443?secret=zz", "mtproxy://h:443?secret=00"} {
		if _, err := ParseProxy(in); !errors.Is(err, ErrConfig) {
			t.Errorf("ParseProxy(%q): err = %v, want ErrConfig", in, err)
		}
	}
}

func FuzzParseProxy(f *testing.F) {
	for _, s := range []string{"socks5://u:p@h:1", "mtproxy://h:1?secret=00112233445566778899aabbccddeeff", "tg://proxy?server=h&port=1&secret=00", "%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseProxy(s)
		if err != nil {
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if p.Kind != ProxySOCKS5 && p.Kind != ProxyMTProxy || p.Addr == "" {
			t.Fatalf("ParseProxy(%q) = %+v", s, p)
		}
		if p.Password != "" && strings.Contains(p.Redacted(), ":"+p.Password+"@") {
			t.Fatalf("Redacted leaks the password: %q", p.Redacted())
		}
	})
}
