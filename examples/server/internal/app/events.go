package app

import (
	"context"
	"log/slog"

	"github.com/chatterhq/sdk/chatter"
)

// perMessage is the log handler in front of the event log: the per-message
// information lines (a message accepted, filtered, delivered) go to the
// process log only, not into the store's event log. The ledger already
// records every message's state, and at a thousand messages a second those
// lines would double the store's writes and hold up the webhook answers.
// Warnings and errors about messages, and every other line (logins,
// settings, sources, the system), are kept in the event log.
type perMessage struct {
	events slog.Handler // the event log (and, behind it, the process log)
	next   slog.Handler // the process log alone
	cat    string       // the category set by WithAttrs, if any
}

func (h *perMessage) Enabled(ctx context.Context, l slog.Level) bool { return h.events.Enabled(ctx, l) }

func (h *perMessage) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < slog.LevelWarn {
		cat := h.cat
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == chatter.AttrCategory {
				cat = a.Value.String()
				return false
			}
			return true
		})
		if cat == chatter.CategoryDelivery || cat == chatter.CategoryFilter {
			if !h.next.Enabled(ctx, r.Level) {
				return nil
			}
			return h.next.Handle(ctx, r)
		}
	}
	return h.events.Handle(ctx, r)
}

func (h *perMessage) WithAttrs(attrs []slog.Attr) slog.Handler {
	cat := h.cat
	for _, a := range attrs {
		if a.Key == chatter.AttrCategory {
			cat = a.Value.String()
		}
	}
	return &perMessage{events: h.events.WithAttrs(attrs), next: h.next.WithAttrs(attrs), cat: cat}
}

func (h *perMessage) WithGroup(name string) slog.Handler {
	return &perMessage{events: h.events.WithGroup(name), next: h.next.WithGroup(name), cat: h.cat}
}
