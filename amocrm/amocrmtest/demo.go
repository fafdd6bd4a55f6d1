package amocrmtest

// Ids of the entities DemoAccount creates. They are fixed so tests and programs
// in any language can refer to them.
const (
	DemoAdminUserID   int64 = 11000001 // "Администратор", admin
	DemoManagerUserID int64 = 11000002 // "Иван Петров", manager without delete rights
	DemoInactiveUser  int64 = 11000003 // "Уволенный сотрудник", inactive

	DemoPipelineID         int64 = 9000001  // "Воронка", the main pipeline
	DemoStatusUnsorted     int64 = 90000001 // "Неразобранное"
	DemoStatusFirstContact int64 = 90000002 // "Первичный контакт"
	DemoStatusNegotiation  int64 = 90000003 // "Переговоры"
	DemoStatusDecision     int64 = 90000004 // "Принимают решение" (requires "Бюджет")
	DemoStatusContract     int64 = 90000005 // "Согласование договора"

	DemoPartnersPipelineID int64 = 9000002  // "Партнёры"
	DemoPartnersStatusNew  int64 = 90000006 // "Новая заявка"
	DemoPartnersStatusWork int64 = 90000007 // "В работе"

	DemoLeadTelegramID       int64 = 700001 // lead "Telegram ID", text
	DemoLeadTelegramUsername int64 = 700002 // lead "Telegram username", text
	DemoLeadSource           int64 = 700003 // lead "Источник", select
	DemoLeadBudget           int64 = 700004 // lead "Бюджет", numeric, required for DemoStatusDecision
	DemoLeadMessageLink      int64 = 700005 // lead "Ссылка на сообщение", url
	DemoLeadFirstMessageAt   int64 = 700006 // lead "Дата обращения", date_time
	DemoLeadConsent          int64 = 700007 // lead "Согласие на обработку", checkbox
	DemoLeadInterests        int64 = 700008 // lead "Интересы", multiselect
	DemoLeadComment          int64 = 700009 // lead "Комментарий", textarea
	DemoLeadChatTitle        int64 = 700010 // lead "Чат", text

	DemoContactPhone            int64 = 700011 // contact PHONE, multitext
	DemoContactEmail            int64 = 700012 // contact EMAIL, multitext
	DemoContactPosition         int64 = 700013 // contact "Должность" (POSITION), text
	DemoContactTelegramID       int64 = 700014 // contact "Telegram ID", text
	DemoContactTelegramUsername int64 = 700015 // contact "Telegram username", text
	DemoContactBirthday         int64 = 700016 // contact "День рождения", birthday

	DemoCompanyPhone   int64 = 700017 // company PHONE, multitext
	DemoCompanyEmail   int64 = 700018 // company EMAIL, multitext
	DemoCompanyWeb     int64 = 700019 // company WEB, url
	DemoCompanyAddress int64 = 700020 // company "Адрес" (ADDRESS), textarea

	DemoSourceTelegramBot int64 = 800001 // "Источник" enum "Telegram бот"
	DemoSourceParsing     int64 = 800002 // "Источник" enum "Парсинг групп"
	DemoSourceSite        int64 = 800003 // "Источник" enum "Сайт"
)

// DemoAccount is a seed for WithSeed or Seed: a Russian-language account with an
// admin, a manager and an inactive user, the "Воронка" and "Партнёры" pipelines,
// custom fields for Telegram leads (see the Demo* constants), standard PHONE and
// EMAIL fields, and a few contacts, a company and leads. Ids are fixed; call it
// on a fresh server.
func DemoAccount(s *Server) {
	full := EntityRights{View: RightAll, Edit: RightAll, Add: RightAll, Delete: RightAll, Export: RightAll}
	s.AddUser(User{ID: DemoAdminUserID, Name: "Администратор", Email: "admin@example.com",
		Rights: UserRights{Leads: full, Contacts: full, Companies: full, IsAdmin: true}})
	mgr := EntityRights{View: RightAll, Edit: RightAll, Add: RightAll, Delete: RightDenied, Export: RightDenied}
	s.AddUser(User{ID: DemoManagerUserID, Name: "Иван Петров", Email: "manager@example.com",
		Rights: UserRights{Leads: mgr, Contacts: mgr, Companies: mgr}})
	s.AddUser(User{ID: DemoInactiveUser, Name: "Уволенный сотрудник", Email: "former@example.com",
		Rights: UserRights{Leads: mgr, Contacts: mgr, Companies: mgr, Inactive: true}})

	s.AddPipeline(Pipeline{ID: DemoPipelineID, Name: "Воронка", IsMain: true, IsUnsortedOn: true, Statuses: []Status{
		{ID: DemoStatusUnsorted, Name: "Неразобранное", Type: StatusTypeUnsorted, Color: "#c1c1c1"},
		{ID: DemoStatusFirstContact, Name: "Первичный контакт", Color: "#99ccff"},
		{ID: DemoStatusNegotiation, Name: "Переговоры", Color: "#ffff99"},
		{ID: DemoStatusDecision, Name: "Принимают решение", Color: "#ffcc66"},
		{ID: DemoStatusContract, Name: "Согласование договора", Color: "#ff8f92"},
	}})
	s.AddPipeline(Pipeline{ID: DemoPartnersPipelineID, Name: "Партнёры", IsUnsortedOn: true, Statuses: []Status{
		{ID: DemoPartnersStatusNew, Name: "Новая заявка"},
		{ID: DemoPartnersStatusWork, Name: "В работе"},
	}})

	s.AddCustomField(EntityLeads, CustomField{ID: DemoLeadTelegramID, Name: "Telegram ID", Type: FieldText})
	s.AddCustomField(EntityLeads, CustomField{ID: DemoLeadTelegramUsername, Name: "Telegram username", Type: FieldText})
	s.AddCustomField(EntityLeads, CustomField{ID: DemoLeadSource, Name: "Источник", Type: FieldSelect, Enums: []Enum{
		{ID: DemoSourceTelegramBot, Value: "Telegram бот"}, {ID: DemoSourceParsing, Value: "Парсинг групп"},
		{ID: DemoSourceSite, Value: "Сайт"}}})
	s.AddCustomField(EntityLeads, CustomField{ID: DemoLeadBudget, Name: "Бюджет", Type: FieldNumeric,
		RequiredStatuses: []RequiredStatus{{PipelineID: DemoPipelineID, StatusID: DemoStatusDecision}}})
	s.AddCustomField(EntityLeads, CustomField{ID: DemoLeadMessageLink, Name: "Ссылка на сообщение", Type: FieldURL})
	s.AddCustomField(EntityLeads, CustomField{ID: DemoLeadFirstMessageAt, Name: "Дата обращения", Type: FieldDateTime})
	s.AddCustomField(EntityLeads, CustomField{ID: DemoLeadConsent, Name: "Согласие на обработку", Type: FieldCheckbox})
	s.AddCustomField(EntityLeads, CustomField{ID: DemoLeadInterests, Name: "Интересы", Type: FieldMultiselect, Enums: []Enum{
		{Value: "Доставка"}, {Value: "Опт"}, {Value: "Розница"}}})
	s.AddCustomField(EntityLeads, CustomField{ID: DemoLeadComment, Name: "Комментарий", Type: FieldTextarea})
	s.AddCustomField(EntityLeads, CustomField{ID: DemoLeadChatTitle, Name: "Чат", Type: FieldText})

	phoneEnums := func() []Enum {
		return []Enum{{Value: "WORK"}, {Value: "WORKDD"}, {Value: "MOB"}, {Value: "FAX"}, {Value: "HOME"}, {Value: "OTHER"}}
	}
	emailEnums := func() []Enum { return []Enum{{Value: "WORK"}, {Value: "PRIV"}, {Value: "OTHER"}} }
	s.AddCustomField(EntityContacts, CustomField{ID: DemoContactPhone, Name: "Телефон", Code: "PHONE",
		Type: FieldMultitext, IsPredefined: true, Enums: phoneEnums()})
	s.AddCustomField(EntityContacts, CustomField{ID: DemoContactEmail, Name: "Email", Code: "EMAIL",
		Type: FieldMultitext, IsPredefined: true, Enums: emailEnums()})
	s.AddCustomField(EntityContacts, CustomField{ID: DemoContactPosition, Name: "Должность", Code: "POSITION",
		Type: FieldText, IsPredefined: true})
	s.AddCustomField(EntityContacts, CustomField{ID: DemoContactTelegramID, Name: "Telegram ID", Type: FieldText})
	s.AddCustomField(EntityContacts, CustomField{ID: DemoContactTelegramUsername, Name: "Telegram username", Type: FieldText})
	s.AddCustomField(EntityContacts, CustomField{ID: DemoContactBirthday, Name: "День рождения", Type: FieldBirthday})
	s.AddCustomField(EntityCompanies, CustomField{ID: DemoCompanyPhone, Name: "Телефон", Code: "PHONE",
		Type: FieldMultitext, IsPredefined: true, Enums: phoneEnums()})
	s.AddCustomField(EntityCompanies, CustomField{ID: DemoCompanyEmail, Name: "Email", Code: "EMAIL",
		Type: FieldMultitext, IsPredefined: true, Enums: emailEnums()})
	s.AddCustomField(EntityCompanies, CustomField{ID: DemoCompanyWeb, Name: "Web", Code: "WEB", Type: FieldURL, IsPredefined: true})
	s.AddCustomField(EntityCompanies, CustomField{ID: DemoCompanyAddress, Name: "Адрес", Code: "ADDRESS",
		Type: FieldTextarea, IsPredefined: true})

	co := s.AddCompany(Company{Name: "ООО «Ромашка»", CustomFieldsValues: []FieldValues{
		{FieldID: DemoCompanyPhone, Values: []FieldValue{{Value: "+7 495 123-45-67", EnumCode: "WORK"}}},
		{FieldID: DemoCompanyWeb, Values: []FieldValue{{Value: "https://romashka.example"}}},
	}})
	anna := s.AddContact(Contact{FirstName: "Анна", LastName: "Смирнова", CompanyID: co.ID,
		CustomFieldsValues: []FieldValues{
			{FieldID: DemoContactPhone, Values: []FieldValue{{Value: "+79161234567", EnumCode: "MOB"}}},
			{FieldID: DemoContactEmail, Values: []FieldValue{{Value: "anna@romashka.example", EnumCode: "WORK"}}},
			{FieldID: DemoContactTelegramUsername, Values: []FieldValue{{Value: "anna_smirnova"}}},
		}})
	oleg := s.AddContact(Contact{FirstName: "Олег", LastName: "Кузнецов", ResponsibleUserID: DemoManagerUserID,
		CustomFieldsValues: []FieldValues{
			{FieldID: DemoContactPhone, Values: []FieldValue{{Value: "+7 (926) 555-44-33", EnumCode: "WORK"}}},
			{FieldID: DemoContactTelegramID, Values: []FieldValue{{Value: "123456789"}}},
		}})
	s.AddLead(Lead{Name: "Заявка из Telegram: оптовая поставка", Price: 150000, StatusID: DemoStatusNegotiation,
		ContactIDs: []int64{anna.ID}, CompanyID: co.ID, Tags: []string{"telegram"},
		CustomFieldsValues: []FieldValues{
			{FieldID: DemoLeadSource, Values: []FieldValue{{EnumID: DemoSourceTelegramBot}}},
			{FieldID: DemoLeadTelegramUsername, Values: []FieldValue{{Value: "anna_smirnova"}}},
		}})
	s.AddLead(Lead{Name: "Вопрос о доставке", StatusID: DemoStatusFirstContact, ResponsibleUserID: DemoManagerUserID,
		ContactIDs: []int64{oleg.ID}, Tags: []string{"telegram", "парсинг"},
		CustomFieldsValues: []FieldValues{
			{FieldID: DemoLeadSource, Values: []FieldValue{{EnumID: DemoSourceParsing}}},
			{FieldID: DemoLeadTelegramID, Values: []FieldValue{{Value: "123456789"}}},
		}})
}

// Seed runs seed functions such as DemoAccount on the server.
func (s *Server) Seed(seeds ...func(*Server)) {
	for _, f := range seeds {
		f(s)
	}
}
