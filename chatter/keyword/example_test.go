package keyword_test

import (
	"errors"
	"fmt"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/keyword"
)

func Example() {
	set, err := keyword.Compile(keyword.Config{Rules: keyword.ParseRules(`
# what we look for
ремонт квартиры -бесплатно
(купить | заказать) "пластиковые окна"
# stop words: never take these
-вакансия -резюме
`)})
	if err != nil {
		panic(err)
	}
	for _, text := range []string{
		"Посоветуйте бригаду для ремонта квартир в Химках",
		"Хочу заказать пластиковые окна на дачу",
		"Вакансия: ремонт квартиры, оплата сдельная",
		"Сделаю ремонт квартиры бесплатно",
	} {
		m := &chatter.Message{Key: chatter.Key{Source: chatter.SourceParser, Account: "a", ChatID: -1, MessageID: 1}, Text: text}
		v := set.Filter(m)
		fmt.Printf("%v %q %q\n", v.Accept, v.Rule, v.Matched)
	}
	// Output:
	// true "ремонт квартиры -бесплатно" ["ремонта" "квартир"]
	// true "(купить | заказать) \"пластиковые окна\"" ["заказать" "пластиковые окна"]
	// false "-вакансия -резюме" ["вакансия"]
	// false "" []
}

func ExampleCompile_syntaxError() {
	_, err := keyword.Compile(keyword.Config{Rules: []keyword.Rule{{Name: "окна", Expr: "(купить | заказать окна"}}})
	var se *keyword.SyntaxError
	if errors.As(err, &se) {
		fmt.Println(se.Message().RU)
		fmt.Println(se.Message().EN)
	}
	// Output:
	// Правило «окна», позиция 1: не закрыта скобка «(»
	// Rule "окна", column 1: unclosed '('
}
