package chatter

// Filter decides whether a message matters. Implementations must be safe for
// concurrent use and do no I/O.
type Filter interface {
	Filter(m *Message) Verdict
}

// FilterFunc adapts a function to Filter.
type FilterFunc func(m *Message) Verdict

// Filter calls f(m).
func (f FilterFunc) Filter(m *Message) Verdict { return f(m) }

// Verdict is a filter's decision and its reason, recorded on the ledger so an
// operator can see why a message was taken or dropped.
type Verdict struct {
	Accept  bool     `json:"accept"`
	Rule    string   `json:"rule,omitempty"`    // the rule that decided (its name or source text)
	Matched []string `json:"matched,omitempty"` // words or phrases that matched
	Reason  string   `json:"reason,omitempty"`  // free text, English, for logs and the ledger
}
