package chatter

// Text is an operator-facing text in Russian with an English variant.
//
// Everything Chatter shows to the people who run it (diagnostics, notifications,
// validation problems) carries both languages; code, comments and logs stay in
// English.
type Text struct {
	RU string `json:"ru"`
	EN string `json:"en"`
}

// T builds a Text from its Russian and English variants.
func T(ru, en string) Text { return Text{RU: ru, EN: en} }

// In returns the variant for lang ("ru" or "en"); any other value, or an empty
// variant, falls back to Russian, then English.
func (t Text) In(lang string) string {
	if lang == "en" && t.EN != "" {
		return t.EN
	}
	if t.RU != "" {
		return t.RU
	}
	return t.EN
}

// IsZero reports whether both variants are empty.
func (t Text) IsZero() bool { return t.RU == "" && t.EN == "" }

// String returns "RU / EN", or the one variant present.
func (t Text) String() string {
	switch {
	case t.RU == "":
		return t.EN
	case t.EN == "" || t.EN == t.RU:
		return t.RU
	default:
		return t.RU + " / " + t.EN
	}
}
