// Package keyword decides which Telegram messages matter: keyword rules in a
// syntax Russian marketers already know from Yandex.Direct, compiled once and
// matched in microseconds, with a report of which rule and which words
// matched ("why this message was taken") for the delivery ledger.
//
// # Rule syntax
//
// One rule per line (ParseRules) or per Rule value. A rule matches when all
// of its elements are found and none of its minus-words:
//
//	ремонт квартиры          both words, in any form and order ("ремонта", "квартир")
//	!ремонт                  this exact form only ("ремонта" does not match)
//	+на                      the same as !: a fixed form (use for short words)
//	"ремонт под ключ"        this phrase: consecutive words, exact forms, in order
//	ремонт*                  words starting with "ремонт" ("ремонтировать")
//	*ремонт*                 a fragment anywhere, even inside words ("евроремонт")
//	(купить | заказать) окна any of the alternatives, and "окна"
//	ремонт -бесплатно -"своими руками"
//	                         minus-words: the rule fails if any is present
//	-вакансия -резюме        only minus-words: a stop rule; a hit rejects the
//	                         message whatever else matched
//	re:\+7\d{10}             an RE2 regular expression (the whole line), case
//	                         insensitive, over the normalised text
//
// Words are compared after normalisation (Normalize): NFKC, lower case,
// ё→е, zero-width characters and soft hyphens removed, and optionally Latin
// look-alikes folded to Cyrillic inside Cyrillic words. Punctuation separates
// words, so "бизнес-центр" is the phrase "бизнес центр". Plain words match
// by stem (snowball, Russian for Cyrillic words, English otherwise): stems
// catch inflections ("ремонта", "ремонтом") but not derivations
// ("ремонтировать"): add those forms, or use a prefix (ремонт*).
// Regular expressions see the normalised text with its punctuation; note
// that Go's \b is ASCII-only and never matches at Cyrillic letters: use
// (^|\P{L}) instead.
//
// Bad rules get a *SyntaxError with the column of the problem and a Russian
// and English message; so does a plain word that has no stem (the stemmer
// takes it whole for an ending, as "ейш"): give its exact form (!word) or
// a prefix (word*). Compile and Live.Update never panic on a rule set; a
// failed Update keeps the running set.
//
// # Scopes
//
// Config.Rules apply to every message; an Override gives a source, an
// account or a chat its own rules, added to the global ones or replacing
// them. The most specific matching scope wins.
//
// # Performance
//
// Exact forms are looked up in a hash table per word; phrases, prefixes,
// fragments and stem candidates are found in one pass of an Aho-Corasick
// automaton (github.com/coregx/ahocorasick, compiled to a DFA) over the
// normalised text, and a word is stemmed only when a stem of a rule is a
// candidate for it. Only rules with a hit are evaluated. See BENCHMARKS.md.
//
// # Quick start
//
//	set, err := keyword.Compile(keyword.Config{Rules: keyword.ParseRules(text)})
//	if err != nil { ... }            // *SyntaxError values, errors.Join-ed
//	live := keyword.NewLive(set)     // a chatter.Filter; live.Update(cfg) swaps atomically
//	p, err := chatter.NewPipeline(chatter.PipelineConfig{Filter: live, ...})
//
// DryRun evaluates a rule set against stored messages of a period and
// reports what would match and what would change.
package keyword
