package chatter_test

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/chatter"
)

func TestFoldText(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"", ""},
		{"ремонт ванной", "ремонт ванной"},
		{"Ремонт", "ремонт"},
		{"РЕМОНТ ВАННОЙ", "ремонт ванной"},
		{"Ещё ЁЛКА", "еще елка"},
		{"Hello, World!", "hello, world!"},
		{"ΣΊΣΥΦΟΣ σίσυφος", "σίσυφοσ σίσυφοσ"},
		{"Straße STRAẞE", "straße straße"},
		{"\u212a", "k"}, // Kelvin sign
		{"İstanbul", "istanbul"},
		{"ǅ ǆ Ǆ", "ǆ ǆ ǆ"}, // title case folds with its orbit
		{"100% скидка_2", "100% скидка_2"},
		{"ре\u00adмонт ре\u200bмонт\ufeff", "ремонт ремонт"},
		{"a\x00b", "ab"},
		{"ремонт\n\tванной  под\u00a0ключ", "ремонт ванной под ключ"},
		{"  два  ", " два "},
		{"Ѐ Ї Ў", "ѐ ї ў"},
		{"bad \xff byte", "bad \ufffd byte"},
		{"Ａｂｃ", "ａｂｃ"}, // no normalisation: full-width stays full-width
		{"🚀 Ok", "🚀 ok"},
	}
	for _, c := range cases {
		if d := cmp.Diff(c.want, chatter.FoldText(c.in)); d != "" {
			t.Errorf("FoldText(%q) (-want +got):\n%s", c.in, d)
		}
	}
}

// Every rune folds like every rune strings.EqualFold treats as equal to it,
// to a rune FoldText leaves alone, so stored and pattern texts folded apart
// always agree.
func TestFoldTextEveryRune(t *testing.T) {
	t.Parallel()
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if r >= 0xd800 && r <= 0xdfff {
			continue // surrogates are not valid in UTF-8
		}
		s := string(r)
		f := chatter.FoldText(s)
		if !utf8.ValidString(f) || utf8.RuneCountInString(f) > 1 {
			t.Fatalf("FoldText(%U) = %q, want at most one rune", r, f)
		}
		if g := chatter.FoldText(f); g != f {
			t.Fatalf("FoldText(FoldText(%U)) = %q, want %q (idempotent)", r, g, f)
		}
		for o := unicode.SimpleFold(r); o != r; o = unicode.SimpleFold(o) {
			if g := chatter.FoldText(string(o)); g != f {
				t.Fatalf("FoldText(%U) = %q but FoldText(%U) = %q; strings.EqualFold says they are equal", o, g, r, f)
			}
		}
	}
}

func TestDeliveryResultNewLead(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		r    *chatter.DeliveryResult
		want bool
	}{
		{"nil", nil, false},
		{"new lead", &chatter.DeliveryResult{LeadID: 1, ContactID: 2}, true},
		{"adopted", &chatter.DeliveryResult{LeadID: 1, Adopted: true}, true},
		{"note on an open lead", &chatter.DeliveryResult{LeadID: 1, NoteID: 3, Threaded: true}, false},
		{"no lead", &chatter.DeliveryResult{ContactID: 2}, false},
	}
	for _, c := range cases {
		require.Equal(t, c.want, c.r.NewLead(), c.name)
	}
}

// FuzzFoldText: FoldText never panics, returns valid UTF-8, is idempotent,
// agrees with strings.EqualFold, and folds a concatenation piece by piece
// (where no white space run crosses the seam), which makes "folded text
// contains folded pattern" mean "some part of the text equals the pattern
// case-insensitively".
func FuzzFoldText(f *testing.F) {
	for _, s := range []string{"", "Ремонт", "РЕМОНТ ванной", "ёЁе", "100%_x", "a\x00b", "\xff\xfe", "ΣσςK\u212a", "ре\u00adмонт", "a \n b", "İı"} {
		f.Add(s, "ремонт")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		fa := chatter.FoldText(a)
		require.True(t, utf8.ValidString(fa), "FoldText(%q) = %q is not UTF-8", a, fa)
		require.Equal(t, fa, chatter.FoldText(fa), "FoldText is not idempotent on %q", a)
		if utf8.ValidString(a) && utf8.ValidString(b) && strings.EqualFold(a, b) {
			require.Equal(t, fa, chatter.FoldText(b), "EqualFold(%q, %q) but the folds differ", a, b)
		}
		if !strings.ContainsFunc(a+b, unicode.IsSpace) && utf8.ValidString(a) && utf8.ValidString(b) {
			require.Equal(t, fa+chatter.FoldText(b), chatter.FoldText(a+b), "FoldText(%q+%q)", a, b)
		}
	})
}

// BenchmarkFoldText folds a typical Russian message (what SaveMessage pays
// per message for the searchable copy) and a 4 KiB mixed-script one.
func BenchmarkFoldText(b *testing.B) {
	typical := "Здравствуйте! Нужен ремонт ванной комнаты под ключ, примерно 6 м². " +
		"Бюджет до 300 000 ₽. Позвоните, пожалуйста: +7 916 123-45-67, Ирина."
	long := strings.Repeat("Ремонт Квартир — Mixed Ελληνικά 🚀 ", 4096/40)
	for _, c := range []struct{ name, s string }{{"typical", typical}, {"4KiB", long}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.s)))
			for b.Loop() {
				_ = chatter.FoldText(c.s)
			}
		})
	}
}
