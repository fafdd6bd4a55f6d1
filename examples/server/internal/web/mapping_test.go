package web

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/amocrm/amocrmtest"
	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/examples/server/internal/apptest"
	"github.com/chatterhq/sdk/examples/server/internal/auth"
	"github.com/chatterhq/sdk/examples/server/internal/demo"
	"github.com/chatterhq/sdk/fieldmap"
)

// mappingTypo is the demo's mapping with a misspelt field name, and the
// line it is on.
func mappingTypo(t *testing.T) (string, int) {
	t.Helper()
	text := string(demo.MappingYAML)
	const good, bad = "- name: Комментарий", "- name: Коментарий"
	i := strings.Index(text, good)
	require.GreaterOrEqual(t, i, 0)
	return strings.Replace(text, good, bad, 1), strings.Count(text[:i], "\n") + 1
}

// mappingPost sends the editor's form to one of its buttons.
func mappingPost(b *browser, action string, fill map[string]string) *page {
	b.t.Helper()
	p := b.get("/mapping")
	vals, _ := p.form("#mapping-form")
	vals.Set("spec", p.doc.Find("#spec").Text())
	for k, v := range fill {
		vals.Set(k, v)
	}
	return b.post(action, vals)
}

// problems are the page's problems: "строка N: text".
func (p *page) mappingProblems() []string {
	var out []string
	p.doc.Find("#mapping-problems li.spec-problem, #mapping-apply-problems li.spec-problem").Each(func(_ int, s *goquery.Selection) {
		out = append(out, strings.Join(strings.Fields(s.Text()), " "))
	})
	return out
}

// amoMappingPages are the amoCRM and mapping pages' states for everyPage
// (b an administrator, mb a manager).
func amoMappingPages(t *testing.T, check func(t *testing.T, name string, p *page), b, mb *browser) {
	check(t, "amocrm forbidden", mb.get("/amocrm"))
	check(t, "mapping forbidden", mb.get("/mapping"))
	p := b.get("/amocrm")
	check(t, "amocrm token with errors", b.submit(p, `form[action="/amocrm/token"]`, map[string]string{"token": "hello"}))
	check(t, "amocrm oauth with errors", b.submit(p, `form[action="/amocrm/oauth"]`, map[string]string{"client_id": "x", "redirect_url": "bad"}))
	check(t, "amocrm test request", b.submit(p, `form[action="/amocrm/check"]`, nil))
	check(t, "amocrm no workspace", b.get("/amocrm?ws=nope"))
	text, _ := mappingTypo(t)
	check(t, "mapping check with errors", mappingPost(b, "/mapping/check", map[string]string{"spec": text}))
	check(t, "mapping check with a syntax error", mappingPost(b, "/mapping/check", map[string]string{"spec": "lead:\n  name: a: b\n"}))
	check(t, "mapping check ok", mappingPost(b, "/mapping/check", nil))
	check(t, "mapping preview", mappingPost(b, "/mapping/preview", map[string]string{"record": "group"}))
	check(t, "mapping preview with errors", mappingPost(b, "/mapping/preview", map[string]string{"key": "x"}))
	check(t, "mapping test lead", mappingPost(b, "/mapping/test-lead", nil))
}

// mappingFacts reads the dl of an entity: term → description.
func mappingFacts(sel *goquery.Selection) map[string]string {
	out := map[string]string{}
	sel.Find("dl dt").Each(func(_ int, dt *goquery.Selection) {
		out[strings.TrimSpace(dt.Text())] = strings.TrimSpace(dt.Next().Text())
	})
	return out
}

func TestMappingEditorShowsTheRunningSpec(t *testing.T) {
	f, b := amoAdmin(t, fixtureOpts{})
	p := b.get("/mapping")
	require.Equal(t, http.StatusOK, p.status, p.main())
	text := p.doc.Find("#spec").Text()
	spec, err := fieldmap.ParseSpec([]byte(text), fieldmap.FormatYAML)
	require.NoError(t, err, text)
	require.Equal(t, mappingSpecHash(f.amoWorkspace(t).Mapping.Inline), mappingSpecHash(spec))
	require.Contains(t, p.doc.Find("#mapping-origin").Text(), "составлен из действующего сопоставления")
	require.Equal(t, "bot", p.doc.Find("#record option[selected]").AttrOr("value", ""))
	for _, action := range []string{"/mapping/check", "/mapping/preview", "/mapping/save", "/mapping/test-lead"} {
		require.Equal(t, 1, p.doc.Find(`#mapping-form button[formaction="`+action+`"]`).Length(), action)
	}
}

func TestMappingCheckShowsLineNumberedErrors(t *testing.T) {
	_, b := amoAdmin(t, fixtureOpts{})
	text, line := mappingTypo(t)
	p := mappingPost(b, "/mapping/check", map[string]string{"spec": text})
	require.Equal(t, http.StatusUnprocessableEntity, p.status, p.main())
	probs := p.mappingProblems()
	require.Len(t, probs, 1, probs)
	require.Contains(t, probs[0], "строка "+strconv.Itoa(line)+" lead.fields[")
	require.Contains(t, probs[0], "поле \"Коментарий\" не найдено среди полей сделок в amoCRM")
	require.Contains(t, probs[0], "Может быть: «Комментарий»")
	require.Equal(t, "1 ошибка в описании — см. список со строками.", p.fieldError("spec"))
	// The listing marks the line; the link goes to it; the text is kept.
	bad := p.doc.Find("#mapping-listing li.bad")
	require.Equal(t, 1, bad.Length())
	require.Equal(t, "spec-line-"+strconv.Itoa(line), bad.AttrOr("id", ""))
	require.Equal(t, "- name: Коментарий", strings.TrimSpace(bad.Text()))
	require.Equal(t, "#spec-line-"+strconv.Itoa(line), p.doc.Find("a.spec-line-ref").AttrOr("href", ""))
	require.Equal(t, text, p.doc.Find("#spec").Text())

	// In English too.
	b.post("/lang", url.Values{"lang": {"en"}, "next": {"/mapping"}})
	p = mappingPost(b, "/mapping/check", map[string]string{"spec": text})
	probs = p.mappingProblems()
	require.Contains(t, probs[0], "line "+strconv.Itoa(line)+" lead.fields[")
	require.Contains(t, probs[0], "field \"Коментарий\" not found among the leads fields in amoCRM")
	require.Contains(t, probs[0], "Did you mean: «Комментарий»")
}

func TestMappingCheckSyntaxErrors(t *testing.T) {
	_, b := amoAdmin(t, fixtureOpts{})
	for _, tc := range []struct{ name, text, want string }{
		{"colon", "version: 1\nlead:\n  name: Заявка: {{ text }}\n", "строка 3 после значения стоит двоеточие"},
		{"unknown key", "version: 1\nlead:\n  name: x\n  feilds: []\n", "строка 4 неизвестный ключ «feilds» Может быть: «fields»"},
		{"empty", "", "всё описание описание пустое"},
		{"template", "lead:\n  name: '{{ text | nosuch }}'\n", "строка 2 lead.name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := mappingPost(b, "/mapping/check", map[string]string{"spec": tc.text})
			require.Equal(t, http.StatusUnprocessableEntity, p.status)
			probs := p.mappingProblems()
			require.NotEmpty(t, probs)
			require.Contains(t, probs[0], tc.want)
		})
	}
}

func TestMappingCheckPasses(t *testing.T) {
	_, b := amoAdmin(t, fixtureOpts{})
	p := mappingPost(b, "/mapping/check", nil)
	require.Equal(t, http.StatusOK, p.status, p.main())
	require.Contains(t, p.doc.Find("#mapping-ok").Text(), "Ошибок нет")
	require.Contains(t, p.doc.Find("#mapping-schema").Text(), "прочитаны")
	require.Empty(t, p.mappingProblems())
}

func TestMappingSaveRefusesErrorsAndKeepsTheText(t *testing.T) {
	f, b := amoAdmin(t, fixtureOpts{})
	before := mappingSpecHash(f.amoWorkspace(t).Mapping.Inline)
	text, line := mappingTypo(t)
	p := mappingPost(b, "/mapping/save", map[string]string{"spec": text})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Contains(t, p.alert(), "Не сохранено")
	require.Contains(t, p.mappingProblems()[0], "строка "+strconv.Itoa(line))
	require.Equal(t, before, mappingSpecHash(f.amoWorkspace(t).Mapping.Inline), "nothing saved")

	// A valid change with a comment: applied, and the text kept as typed.
	edited := "# Комментарий оператора: без поля «Чат»\n" + strings.Replace(string(demo.MappingYAML),
		"    - name: Чат\n      value: '{{ chat.title }}'\n      optional: true\n", "", 1)
	require.NotEqual(t, string(demo.MappingYAML), edited[strings.IndexByte(edited, '\n')+1:])
	p = mappingPost(b, "/mapping/save", map[string]string{"spec": edited})
	require.Equal(t, http.StatusOK, p.status, p.main())
	require.Equal(t, "/mapping", p.url.Path)
	require.Contains(t, p.alert(), "Сопоставление полей сохранено и применено.")
	spec := f.amoWorkspace(t).Mapping.Inline
	require.False(t, slices.ContainsFunc(spec.Lead.Fields, func(fs fieldmap.FieldSpec) bool { return fs.Name == "Чат" }))
	require.Equal(t, edited, p.doc.Find("#spec").Text())
	require.Contains(t, p.doc.Find("#mapping-origin").Text(), "сохранён на этой странице (admin)")
	ev := amoEvents(t, f, "field mapping saved")
	require.Len(t, ev, 1)
	require.Equal(t, "admin", ev[0].Attrs["by"])

	// The server delivers with it once set up again.
	require.Eventually(t, func() bool {
		rt, ok := f.h.App.Runtime(apptest.Workspace)
		return ok && rt.Sink != nil
	}, 30*time.Second, 50*time.Millisecond)
}

func TestMappingPreviewOfTheSamples(t *testing.T) {
	_, b := amoAdmin(t, fixtureOpts{})
	p := mappingPost(b, "/mapping/preview", map[string]string{"record": "bot"})
	require.Equal(t, http.StatusOK, p.status, p.main())
	lead := p.doc.Find(`#mapping-preview [data-entity="leads"]`)
	require.Equal(t, 1, lead.Length(), p.main())
	facts := mappingFacts(lead)
	require.True(t, strings.HasPrefix(facts["Название"], "Тест Образцов: Здравствуйте! Нужна доставка"), facts["Название"])
	require.Equal(t, "Воронка (#"+strconv.FormatInt(amocrmtest.DemoPipelineID, 10)+")", facts["Воронка"])
	require.Equal(t, "Первичный контакт (#"+strconv.FormatInt(amocrmtest.DemoStatusFirstContact, 10)+")", facts["Этап"])
	require.Equal(t, "Иван Петров (#"+strconv.FormatInt(amocrmtest.DemoManagerUserID, 10)+")", facts["Ответственный"])
	require.Equal(t, "telegram, бот", facts["Теги"])
	fields := map[string][2]string{}
	lead.Find("tbody tr").Each(func(_ int, tr *goquery.Selection) {
		tds := tr.Find("td")
		name := strings.TrimSpace(tds.Eq(0).Text())
		fields[name[:strings.Index(name, " (")]] = [2]string{strings.TrimSpace(tds.Eq(1).Text()), strings.TrimSpace(tds.Eq(2).Text())}
	})
	require.Equal(t, [2]string{"select", "Telegram бот (enum_id " + strconv.FormatInt(amocrmtest.DemoSourceTelegramBot, 10) + ")"}, fields["Источник"])
	require.Equal(t, [2]string{"text", "777000"}, fields["Telegram ID"])
	require.Equal(t, "multiselect", fields["Интересы"][0], "the sample asks for a delivery")
	require.Equal(t, "date_time", fields["Дата обращения"][0])
	contact := strings.Join(strings.Fields(p.doc.Find(`#mapping-preview [data-entity="contacts"]`).Text()), " ")
	require.Contains(t, contact, "+79990000000")
	// The bot's sample has no link or chat: optional fields left out, with warnings.
	require.Contains(t, strings.Join(strings.Fields(p.doc.Find("#mapping-apply-warnings").Text()), " "), "lead.fields[")

	p = mappingPost(b, "/mapping/preview", map[string]string{"record": "group"})
	lead = p.doc.Find(`#mapping-preview [data-entity="leads"]`)
	require.Contains(t, lead.Text(), "Парсинг групп")
	require.Contains(t, lead.Text(), "https://t.me/optoviki_msk_sample/4217")
	require.Contains(t, lead.Text(), "Оптовики Москвы")
}

func TestMappingPreviewOfAStoredMessage(t *testing.T) {
	f, b := amoAdmin(t, fixtureOpts{})
	msg := &chatter.Message{Workspace: apptest.Workspace, Key: chatter.Key{Source: chatter.SourceBot, Account: "42", ChatID: 5551, MessageID: 7},
		Chat: chatter.Chat{ID: 5551, Type: chatter.ChatPrivate}, Sender: chatter.Sender{ID: 5551, FirstName: "Пётр", Username: "petr"},
		Text: "Нужен прайс на опт", Time: time.Now().Add(-time.Minute)}
	_, err := f.h.App.Pipeline().Accept(t.Context(), msg)
	require.NoError(t, err)

	p := b.get("/mapping")
	opt := p.doc.Find(`#record option[value="key:` + msg.Key.String() + `"]`)
	require.Equal(t, 1, opt.Length(), "the stored message is offered")
	require.Contains(t, opt.Text(), "Пётр · Нужен прайс на опт")

	p = mappingPost(b, "/mapping/preview", map[string]string{"record": "key:" + msg.Key.String()})
	require.Equal(t, http.StatusOK, p.status, p.main())
	require.Equal(t, "Пётр: Нужен прайс на опт", mappingFacts(p.doc.Find(`#mapping-preview [data-entity="leads"]`))["Название"])

	p = mappingPost(b, "/mapping/preview", map[string]string{"key": msg.Key.String()})
	require.Equal(t, http.StatusOK, p.status, p.main())
	require.Contains(t, p.doc.Find("#mapping-preview").Text(), "сообщение "+msg.Key.String())

	p = mappingPost(b, "/mapping/preview", map[string]string{"key": "nonsense"})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Contains(t, p.fieldError("key"), "Это не ключ сообщения")
	p = mappingPost(b, "/mapping/preview", map[string]string{"key": "tgbot:42:1:1"})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Equal(t, "В журнале доставки нет сообщения tgbot:42:1:1.", p.fieldError("key"))
}

func TestMappingTestLeadIsCreatedAndReadBack(t *testing.T) {
	f, b := amoAdmin(t, fixtureOpts{})
	leadsBefore := len(f.h.Env.AmoCRM.Leads())
	p := mappingPost(b, "/mapping/test-lead", nil)
	require.Equal(t, http.StatusOK, p.status, p.main())
	res := strings.Join(strings.Fields(p.doc.Find("#mapping-test-result").Text()), " ")
	require.Regexp(t, `^Создана тестовая сделка #\d+\. Контакт #\d+\. amoCRM сохранил все поля так, как они были отправлены\.`, res)
	leads := f.h.Env.AmoCRM.Leads()
	require.Len(t, leads, leadsBefore+1)
	var lead amocrmtest.Lead
	for _, l := range leads {
		if strings.HasPrefix(l.Name, "[ТЕСТ] ") {
			lead = l
		}
	}
	require.NotZero(t, lead.ID, "the test lead is in amoCRM")
	require.Contains(t, lead.Tags, "chatter-test")
	require.Equal(t, f.h.Env.AmoCRM.URL+"/leads/detail/"+strconv.FormatInt(lead.ID, 10), p.doc.Find("#mapping-test-link").AttrOr("href", ""))
	require.Contains(t, p.doc.Find("#mapping-test").Text(), "Удалите их в amoCRM после проверки")
	rows := p.doc.Find("#mapping-test-fields tbody tr")
	require.Greater(t, rows.Length(), 5)
	require.Equal(t, rows.Length(), p.doc.Find("#mapping-test-fields tbody tr.ok").Length())
	require.Contains(t, p.doc.Find("#mapping-test-fields").Text(), "[ТЕСТ] Тест Образцов")
	require.Contains(t, p.doc.Find("#mapping-test-fields").Text(), "Воронка (#")
	ev := amoEvents(t, f, "test lead created")
	require.Len(t, ev, 1)
	require.Equal(t, strconv.FormatInt(lead.ID, 10), ev[0].Attrs["lead_id"])
}

func TestMappingTestLeadRefusedByAmoCRMIsExplained(t *testing.T) {
	f, b := amoAdmin(t, fixtureOpts{})
	// The integration's user may add leads but not contacts.
	rights := amocrmtest.EntityRights{View: amocrmtest.RightAll, Edit: amocrmtest.RightAll, Add: amocrmtest.RightAll}
	noAdd := rights
	noAdd.Add = amocrmtest.RightDenied
	u := f.h.Env.AmoCRM.AddUser(amocrmtest.User{Name: "Интеграция", Email: "robot@example.com",
		Rights: amocrmtest.UserRights{Leads: rights, Contacts: noAdd, Companies: rights}})
	access, _ := f.h.Env.AmoCRM.IssueTokenPair(u.ID)
	wc := f.amoWorkspace(t)
	wc.AmoCRM.LongLivedToken = access
	require.NoError(t, f.h.App.UpdateWorkspace(t.Context(), wc, "test"))
	leadsBefore := len(f.h.Env.AmoCRM.Leads())

	p := mappingPost(b, "/mapping/test-lead", nil)
	require.Equal(t, http.StatusBadGateway, p.status, p.main())
	msg := strings.Join(strings.Fields(p.doc.Find("#mapping-test-error").Text()), " ")
	require.Contains(t, msg, "Тестовая сделка не создана: amoCRM отклонил данные")
	require.Contains(t, msg, "Контакт")
	require.Contains(t, msg, "amoCRM не принимает это значение")
	require.Contains(t, msg, "Access denied: no add rights for contacts")
	require.Len(t, f.h.Env.AmoCRM.Leads(), leadsBefore, "nothing was created")
	require.Len(t, amoEvents(t, f, "test lead refused by amoCRM"), 1)

	b.post("/lang", url.Values{"lang": {"en"}, "next": {"/mapping"}})
	p = mappingPost(b, "/mapping/test-lead", nil)
	msg = strings.Join(strings.Fields(p.doc.Find("#mapping-test-error").Text()), " ")
	require.Contains(t, msg, "The test lead was not created: amoCRM rejected the data")
	require.Contains(t, msg, "amoCRM does not accept this value")
}

func TestMappingPagesAreForAdministrators(t *testing.T) {
	f, _ := amoAdmin(t, fixtureOpts{})
	f.user(t, "ivan", auth.RoleManager, apptest.Workspace)
	b := f.browser(t)
	b.signedIn("ivan", goodPassword)
	require.Equal(t, http.StatusForbidden, b.get("/mapping").status)
	before := len(f.h.Env.AmoCRM.Leads())
	for _, path := range []string{"/mapping/check", "/mapping/preview", "/mapping/save", "/mapping/test-lead"} {
		p := b.post(path, url.Values{"ws": {apptest.Workspace}, "spec": {string(demo.MappingYAML)}})
		require.Equal(t, http.StatusForbidden, p.status, path)
	}
	require.Len(t, f.h.Env.AmoCRM.Leads(), before)
}

func TestMappingAmoPath(t *testing.T) {
	m := fieldmap.MustCompile(&fieldmap.Spec{Lead: fieldmap.LeadSpec{Name: &fieldmap.Source{Const: "x"},
		Fields: []fieldmap.FieldSpec{{ID: 5, Type: "text", Value: &fieldmap.Source{Const: "a"}}, {ID: 6, Type: "numeric", Value: &fieldmap.Source{Const: "1"}}}},
		Contact: &fieldmap.ContactSpec{Name: &fieldmap.Source{Const: "c"}, Fields: []fieldmap.FieldSpec{{Code: "PHONE", Value: &fieldmap.Source{Const: "+79990000000"}}}}})
	res, err := m.Apply(fieldmap.MapRecord{})
	require.NoError(t, err)
	for path, want := range map[string][2]string{
		"custom_fields_values.1.values.0.value":                  {"leads", "#6"},
		"_embedded.contacts.0.custom_fields_values.0.field_code": {"contacts", "PHONE"},
		"_embedded.contacts":                                     {"contacts", ""},
		"_embedded.companies.0.name":                             {"companies", "name"},
		"status_id":                                              {"leads", "status_id"},
		"custom_fields_values.9.field_id":                        {"leads", "custom_fields_values"},
	} {
		e, fld := mappingAmoPath(path, res)
		require.Equal(t, want, [2]string{e, fld}, path)
	}
}

// TestAmoMappingKeysExist: every catalog key the amoCRM and mapping pages
// use, fixed or made up at run time, is in both catalogs (with its plural
// forms).
func TestAmoMappingKeysExist(t *testing.T) {
	c, err := loadCatalogs(catalogFS)
	require.NoError(t, err)
	has := func(lang, k string) bool {
		_, plain := c.by[lang][k]
		_, plural := c.by[lang][k+".one"]
		return plain || plural
	}
	var keys []string
	goRE := regexp.MustCompile(`(?:failKey\(s\.i18n, "[^"]*", |flashKey\(r, "[a-z]+", |mappingT\(|i18n\.[TN]\([^,()]+, |key: +)"((?:amocrm|mapping)\.[A-Za-z0-9_.]+)"`)
	tmplRE := regexp.MustCompile(`\.[TN] "((?:amocrm|mapping|title)\.[A-Za-z0-9_.]+)"`)
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	for _, name := range append(files, "templates/amocrm.html", "templates/mapping.html") {
		if strings.HasSuffix(name, "_test.go") || !strings.HasPrefix(filepath.Base(name), "amocrm") && !strings.HasPrefix(filepath.Base(name), "mapping") {
			continue
		}
		b, err := os.ReadFile(name)
		require.NoError(t, err)
		re := goRE
		if strings.HasSuffix(name, ".html") {
			re = tmplRE
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			if !strings.HasSuffix(m[1], ".") { // a prefix completed at run time: listed below
				keys = append(keys, m[1])
			}
		}
	}
	require.Greater(t, len(keys), 120)
	for _, s := range []chatter.Status{chatter.StatusOK, chatter.StatusWarn, chatter.StatusFail, chatter.StatusSkip} {
		keys = append(keys, "amocrm.status."+string(s))
	}
	keys = append(keys, "mapping.sample.bot", "mapping.sample.group", "mapping.entity.leads", "mapping.entity.contacts", "mapping.entity.companies")
	for _, h := range mappingSyntaxHints {
		keys = append(keys, h.key)
	}
	for _, code := range []string{amocrmtest.CodeNotSupportedChoice, amocrmtest.CodeInvalidType, amocrmtest.CodeFieldRequired, amocrmtest.CodeCountMaxLimit, amocrmtest.CodeNotBlank} {
		keys = append(keys, "mapping.amo_code."+code)
	}
	for _, k := range keys {
		for _, lang := range languages {
			require.True(t, has(lang, k), "key %q missing in %s", k, lang)
		}
	}
}
