package tgbot

import (
	"context"
	"errors"
	"fmt"
	"html"
	"slices"
	"strings"
	"unicode/utf16"

	"github.com/chatterhq/sdk/chatter"
)

// NotifierConfig configures a Notifier.
type NotifierConfig struct {
	// Client sends the messages. Required.
	Client *Client
	// ChatIDs are the recipients: users (who must have started the bot),
	// groups or channels. At least one is required.
	ChatIDs []int64
	// Lang is "ru" (default), "en", or "both" (Russian, then English).
	Lang string
	// MinSeverity drops less severe notifications. Defaults to info (all).
	MinSeverity chatter.Severity
	// DisableNotification sends silently (no sound) for info notifications.
	DisableNotification bool
}

// Notifier sends chatter notifications as Telegram messages (HTML) to a few
// chats, within the client's rate limits. It implements chatter.Notifier and
// is safe for concurrent use. Notify tries every recipient and returns the
// errors of those that failed (joined); it does not retry beyond what the
// client does for 429.
type Notifier struct {
	cfg NotifierConfig
}

var _ chatter.Notifier = (*Notifier)(nil)

// NewNotifier validates cfg and returns a Notifier.
func NewNotifier(cfg NotifierConfig) (*Notifier, error) {
	if cfg.Client == nil {
		return nil, errors.New("tgbot: NotifierConfig.Client is required")
	}
	if len(cfg.ChatIDs) == 0 {
		return nil, errors.New("tgbot: NotifierConfig.ChatIDs: at least one recipient is required")
	}
	if slices.Contains(cfg.ChatIDs, 0) {
		return nil, errors.New("tgbot: NotifierConfig.ChatIDs: chat id 0 is invalid")
	}
	switch cfg.Lang {
	case "":
		cfg.Lang = "ru"
	case "ru", "en", "both":
	default:
		return nil, fmt.Errorf("tgbot: NotifierConfig.Lang %q: want ru, en or both", cfg.Lang)
	}
	cfg.ChatIDs = slices.Clone(cfg.ChatIDs)
	return &Notifier{cfg: cfg}, nil
}

func severityRank(s chatter.Severity) int {
	switch s {
	case chatter.SeverityWarning:
		return 1
	case chatter.SeverityError:
		return 2
	}
	return 0
}

// Notify sends n to every recipient.
func (nt *Notifier) Notify(ctx context.Context, n *chatter.Notification) error {
	if n == nil {
		return fmt.Errorf("tgbot: notify: nil notification: %w", chatter.ErrInvalid)
	}
	if severityRank(n.Severity) < severityRank(nt.cfg.MinSeverity) {
		return nil
	}
	text := FormatNotification(n, nt.cfg.Lang)
	var errs []error
	for _, id := range nt.cfg.ChatIDs {
		_, err := nt.cfg.Client.SendMessage(ctx, &SendMessageParams{ChatID: id, Text: text, ParseMode: "HTML",
			DisablePreview: true, DisableNotification: nt.cfg.DisableNotification && n.Severity == chatter.SeverityInfo})
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			errs = append(errs, fmt.Errorf("chat %d: %w", id, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("tgbot: notify %s: %w", n.Type, errors.Join(errs...))
	}
	return nil
}

var severityIcon = map[chatter.Severity]string{
	chatter.SeverityInfo: "ℹ️", chatter.SeverityWarning: "⚠️", chatter.SeverityError: "❗",
}

// FormatNotification renders n as Telegram HTML in lang ("ru", "en" or
// "both"), within Telegram's 4096-character limit. Every value is escaped.
func FormatNotification(n *chatter.Notification, lang string) string {
	var b strings.Builder
	write := func(l string) {
		if icon := severityIcon[n.Severity]; icon != "" {
			b.WriteString(icon + " ")
		}
		b.WriteString("<b>" + html.EscapeString(n.Title.In(l)) + "</b>")
		if body := n.Body.In(l); body != "" {
			b.WriteString("\n" + html.EscapeString(body))
		}
		if n.Count > 0 {
			if l == "en" {
				fmt.Fprintf(&b, "\nTotal: %d", n.Count)
			} else {
				fmt.Fprintf(&b, "\nВсего: %d", n.Count)
			}
		}
		for i, it := range n.Items {
			if i == 10 {
				b.WriteString("\n…")
				break
			}
			b.WriteString("\n• " + html.EscapeString(it.Title.In(l)))
		}
	}
	if lang == "both" {
		write("ru")
		if n.Title.EN != "" && n.Title.EN != n.Title.RU {
			b.WriteString("\n\n")
			write("en")
		}
	} else {
		write(lang)
	}
	keys := make([]string, 0, len(n.Fields))
	for k := range n.Fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		b.WriteString("\n<code>" + html.EscapeString(k) + "</code>: " + html.EscapeString(n.Fields[k]))
	}
	if n.Key != "" {
		b.WriteString("\n<code>" + html.EscapeString(n.Key) + "</code>")
	}
	if n.Link != "" {
		b.WriteString("\n" + html.EscapeString(n.Link))
	}
	return truncateHTML(b.String(), 4096)
}

// truncateHTML shortens s to at most n UTF-16 units of visible text without
// cutting a tag or an entity, closing nothing (it cuts only after the title
// line's markup, at a line boundary).
func truncateHTML(s string, n int) string {
	if len(utf16.Encode([]rune(s))) <= n {
		return s
	}
	lines := strings.Split(s, "\n")
	var b strings.Builder
	size := 0
	for i, l := range lines {
		ln := len(utf16.Encode([]rune(l))) + 1
		if size+ln > n-2 {
			if i == 0 {
				// A single huge first line: drop the markup and cut.
				plain := []rune(html.EscapeString(html.UnescapeString(strings.NewReplacer("<b>", "", "</b>", "").Replace(l))))
				for len(utf16.Encode(plain)) > n-2 {
					plain = plain[:len(plain)-len(plain)/8-1]
				}
				// Do not leave a broken entity at the end.
				out := string(plain)
				if amp := strings.LastIndexByte(out, '&'); amp >= 0 && !strings.Contains(out[amp:], ";") {
					out = out[:amp]
				}
				return out + "…"
			}
			b.WriteString("…")
			break
		}
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(l)
		size += ln
	}
	return b.String()
}
