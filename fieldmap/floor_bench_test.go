package fieldmap

import (
	"testing"

	"github.com/chatterhq/sdk/amocrm"
)

var sinkResult *Result

// BenchmarkOutputAlloc10 only allocates and fills the output BenchmarkApply10
// produces (the result with its contact, 10 custom field entries and 10
// values, laid out as Apply lays them out) and maps nothing: the floor under
// Apply on the machine it runs on. On a loaded machine most of Apply's time
// is this floor (allocation and the GC it drives), not the mapping.
func BenchmarkOutputAlloc10(b *testing.B) {
	b.ReportAllocs()
	cpu := processCPU()
	for b.Loop() {
		rc := &resultWithContact{}
		vals := make([]amocrm.FieldValue, 0, 10)
		cfv := make(amocrm.CustomFieldsValues, 0, 10)
		for i := range 10 {
			vals = append(vals, amocrm.FieldValue{Value: "x"})
			cfv = append(cfv, amocrm.CustomFieldValues{FieldID: i + 1, FieldType: amocrm.FieldTypeText, Values: vals[i : i+1 : i+1]})
		}
		rc.res.lead.CustomFieldsValues = cfv[:8:8]
		rc.contact.CustomFieldsValues = cfv[8:]
		rc.res.Lead.Lead, rc.res.Lead.Contact = &rc.res.lead, &rc.contact
		sinkResult = &rc.res
	}
	reportCPU(b, cpu)
}
