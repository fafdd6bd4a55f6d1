package amocrm

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// leadsPage builds a realistic 250-lead page with custom fields.
func leadsPage(n int) []byte {
	var sb strings.Builder
	sb.WriteString(`{"_page":1,"_links":{"self":{"href":"https://example.amocrm.ru/api/v4/leads?page=1&limit=250"},"next":{"href":"https://example.amocrm.ru/api/v4/leads?page=2&limit=250"}},"_embedded":{"leads":[`)
	for i := range n {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"id":%d,"name":"Заявка из Telegram №%d","price":%d,"responsible_user_id":504141,"group_id":0,"status_id":142,"pipeline_id":1300,"loss_reason_id":null,"created_by":0,"updated_by":504141,"created_at":1600000000,"updated_at":1600000100,"closed_at":null,"closest_task_at":null,"is_deleted":false,"custom_fields_values":[{"field_id":1,"field_name":"utm_source","field_code":"UTM_SOURCE","field_type":"tracking_data","values":[{"value":"telegram"}]},{"field_id":2,"field_name":"Источник","field_code":null,"field_type":"select","values":[{"value":"Бот","enum_id":11}]},{"field_id":3,"field_name":"Дата","field_code":null,"field_type":"date","values":[{"value":1600000000}]}],"score":null,"account_id":28805383,"_links":{"self":{"href":"https://example.amocrm.ru/api/v4/leads/%d"}},"_embedded":{"tags":[{"id":1,"name":"telegram","color":null}],"companies":[]}}`, i+1, i, i*100, i+1)
	}
	sb.WriteString(`]}}`)
	return []byte(sb.String())
}

func BenchmarkDecodeLeadsPage(b *testing.B) {
	body := leadsPage(250)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		env := pageEnvelope[*Lead]{Embedded: embeddedItems[*Lead]{key: "leads"}}
		if err := unmarshalLenient(body, &env); err != nil {
			b.Fatal(err)
		}
		if len(env.Embedded.items) != 250 {
			b.Fatal("short page")
		}
	}
}

func BenchmarkDecodeLeadsPageLenientSlowPath(b *testing.B) {
	// Every id is a string: exercises the type-drift repair path.
	body := []byte(strings.ReplaceAll(string(leadsPage(250)), `"responsible_user_id":504141`, `"responsible_user_id":"504141"`))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		env := pageEnvelope[*Lead]{Embedded: embeddedItems[*Lead]{key: "leads"}}
		if err := unmarshalLenient(body, &env); err != nil {
			b.Fatal(err)
		}
		if env.Embedded.items[0].ResponsibleUserID != 504141 {
			b.Fatal("not repaired")
		}
	}
}

func BenchmarkEncodeComplexBatch(b *testing.B) {
	items := make([]*ComplexLead, 50)
	for i := range items {
		items[i] = &ComplexLead{
			Lead:      &Lead{Name: "Заявка", PipelineID: 1300, CustomFieldsValues: CustomFieldsValues{SetField(1, TextValue("telegram")), SetField(2, EnumValue(11))}},
			Contact:   &Contact{Name: "Иван", CustomFieldsValues: CustomFieldsValues{SetFieldCode(FieldCodePhone, MultitextValue("+79990000000", EnumCodeMobile))}},
			Tags:      []Tag{{Name: "telegram"}},
			RequestID: fmt.Sprint(i),
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(items); err != nil {
			b.Fatal(err)
		}
	}
}
