package chatter

// Cause describes the class for people, as the notifications of a dead
// delivery say it ("временная ошибка связи с CRM"); an unknown class is
// "неизвестная ошибка". The admin UI explains a ledger entry with it.
func (c ErrorClass) Cause() Text { return classCause(c) }

// Remedy says what to do about the class, as the notifications of a dead
// delivery say it; it is zero for classes with nothing to do but wait or
// look at the error (rate_limited, permanent, unknown ones).
func (c ErrorClass) Remedy() Text { return classRemedy(c) }
