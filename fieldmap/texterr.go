package fieldmap

import (
	"errors"
	"fmt"
)

// textError is an internal error with a Russian and an English text (the
// parsers of specs, templates and conditions return it), so that a Problem
// built from it says the same thing in each language and mixes neither.
// Error returns the English text.
type textError struct{ t Text }

func (e *textError) Error() string { return e.t.EN }

// errT returns a textError; ru and en are fmt formats sharing args.
func errT(ru, en string, args ...any) error {
	return &textError{T(fmt.Sprintf(ru, args...), fmt.Sprintf(en, args...))}
}

// errS returns a textError of texts already formatted.
func errS(ru, en string) error { return &textError{T(ru, en)} }

// atCol prefixes err with a 1-based column of a template or condition.
func atCol(col int, err error) error {
	t := textOf(err)
	return &textError{T(fmt.Sprintf("столбец %d: %s", col, t.RU), fmt.Sprintf("col %d: %s", col, t.EN))}
}

// textOf returns the texts of err: those of a textError, else a Russian
// sentence saying only that something failed and the English error.
func textOf(err error) Text {
	var te *textError
	if errors.As(err, &te) {
		return te.t
	}
	return T("ошибка разбора (подробности в английском тексте)", err.Error())
}
