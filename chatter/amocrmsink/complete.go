package amocrmsink

import (
	"context"
	"log/slog"
	"slices"
	"strconv"

	"github.com/chatterhq/sdk/amocrm"
	"github.com/chatterhq/sdk/fieldmap"
)

// completeContact writes the sender's Telegram id and username into a
// contact found by a weaker key, so the next search finds it by the strong
// one. It is best effort: a failure is logged.
func (j *job) completeContact(ctx context.Context, c *amocrm.Contact) {
	cfg, p := j.s.cfg, j.person
	upd := &amocrm.Contact{ID: c.ID}
	if cfg.ContactTelegramIDField > 0 && p.tgID != 0 && fieldText(c, cfg.ContactTelegramIDField) == "" {
		upd.CustomFieldsValues = append(upd.CustomFieldsValues, amocrm.SetField(cfg.ContactTelegramIDField, amocrm.TextValue(strconv.FormatInt(p.tgID, 10))))
	}
	if cfg.ContactUsernameField > 0 && p.username != "" && fieldText(c, cfg.ContactUsernameField) == "" {
		upd.CustomFieldsValues = append(upd.CustomFieldsValues, amocrm.SetField(cfg.ContactUsernameField, amocrm.TextValue(p.username)))
	}
	if len(upd.CustomFieldsValues) == 0 {
		return
	}
	if _, _, err := cfg.Client.Contacts.UpdateOne(ctx, upd); err != nil {
		j.s.log.LogAttrs(ctx, slog.LevelWarn, "contact not completed with the Telegram id",
			slog.Int("contact_id", c.ID), slog.Any("err", err))
	}
}

// hasPhone reports whether the contact has the phone (E.164).
func hasPhone(c *amocrm.Contact, phone string) bool {
	return slices.ContainsFunc(c.Phones(), func(s string) bool {
		n, ok := fieldmap.NormalizePhone(s)
		return ok && n == phone
	})
}
