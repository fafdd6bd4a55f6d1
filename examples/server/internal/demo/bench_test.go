package demo

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/chatterhq/sdk/amocrm/amocrmtest"
)

// BenchmarkAmoCRMSnapshot measures what every amoCRM write costs the demo
// (the snapshot written before the answer) for an account of a given size:
// leads, as many contacts, and two notes per lead.
func BenchmarkAmoCRMSnapshot(b *testing.B) {
	for _, n := range []int{100, 1000, 3000} {
		b.Run(fmt.Sprintf("leads=%d", n), func(b *testing.B) {
			s := amocrmtest.New(amocrmtest.WithSeed(amocrmtest.DemoAccount))
			for i := range n {
				c := s.AddContact(amocrmtest.Contact{Name: fmt.Sprintf("Клиент %d", i), CustomFieldsValues: []amocrmtest.FieldValues{
					{FieldID: amocrmtest.DemoContactTelegramID, Values: []amocrmtest.FieldValue{{Value: fmt.Sprint(100000000 + i)}}}}})
				l := s.AddLead(amocrmtest.Lead{Name: fmt.Sprintf("Заявка %d", i), ContactIDs: []int64{c.ID}, Tags: []string{"telegram"}})
				for range 2 {
					s.AddNote(amocrmtest.Note{EntityType: amocrmtest.EntityLeads, EntityID: l.ID, Params: map[string]any{"text": "Нужен ремонт квартиры под ключ"}})
				}
			}
			p := &amoPersist{srv: s, path: filepath.Join(b.TempDir(), AmoCRMFile)}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := p.save(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
