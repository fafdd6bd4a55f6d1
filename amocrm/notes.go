package amocrm

import "encoding/json"

// UnmarshalJSON decodes note params leniently, keeping unknown keys in Extra.
func (p *NoteParams) UnmarshalJSON(b []byte) error {
	*p = NoteParams{}
	if !isJSON(b) || b[0] != '{' {
		return nil // null or [] (PHP empty object)
	}
	type plain NoteParams
	var known plain
	if err := unmarshalLenient(b, &known); err != nil {
		return err
	}
	*p = NoteParams(known)
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	for k, v := range m {
		switch k {
		case "text", "service", "phone", "uniq", "duration", "source", "link", "call_result", "call_status",
			"address", "longitude", "latitude", "file_uuid", "file_name":
			continue
		}
		if p.Extra == nil {
			p.Extra = map[string]json.RawMessage{}
		}
		p.Extra[k] = append(json.RawMessage(nil), v...)
	}
	return nil
}

// MarshalJSON writes the set parameters plus Extra.
func (p NoteParams) MarshalJSON() ([]byte, error) {
	type plain NoteParams
	b, err := json.Marshal(plain(p))
	if err != nil || len(p.Extra) == 0 {
		return b, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	for k, v := range p.Extra {
		if _, ok := m[k]; !ok {
			m[k] = v
		}
	}
	return json.Marshal(m)
}
