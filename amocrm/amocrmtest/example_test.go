package amocrmtest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/chatterhq/sdk/amocrm/amocrmtest"
)

// The server is an http.Handler too; here it serves one request without a
// listener.
func Example() {
	srv := amocrmtest.New(amocrmtest.WithSeed(amocrmtest.DemoAccount))

	req := httptest.NewRequest("GET", "/api/v4/leads/pipelines", nil)
	req.Header.Set("Authorization", "Bearer "+srv.AccessToken())
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)

	var body struct {
		Embedded struct {
			Pipelines []struct {
				Name     string `json:"name"`
				Embedded struct {
					Statuses []struct {
						Name string `json:"name"`
					} `json:"statuses"`
				} `json:"_embedded"`
			} `json:"pipelines"`
		} `json:"_embedded"`
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &body)
	p := body.Embedded.Pipelines[0]
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	fmt.Println(p.Name+":", p.Embedded.Statuses[1].Name, "→", p.Embedded.Statuses[2].Name)
	// Output:
	// 200 application/hal+json
	// Воронка: Первичный контакт → Переговоры
}

// A failed validation answers 400 with amoCRM's validation-errors.
func Example_validationError() {
	srv := amocrmtest.New(amocrmtest.WithSeed(amocrmtest.DemoAccount))
	body := fmt.Sprintf(`[{"name":"x","custom_fields_values":[{"field_id":%d,"values":[{"enum_id":1}]}]}]`,
		amocrmtest.DemoLeadSource)
	req := httptest.NewRequest("POST", "/api/v4/leads", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+srv.AccessToken())
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	fmt.Println(rec.Body.String())
	// Output:
	// 400 application/problem+json
	// {"validation-errors":[{"request_id":"0","errors":[{"code":"NotSupportedChoice","path":"custom_fields_values.0.values.0.enum_id","detail":"The value you selected is not a valid choice."}]}],"title":"Bad Request","type":"https://httpstatus.es/400","status":400,"detail":"Request validation failed"}
}

// Start serves on a real port, for clients in other processes or languages.
func ExampleServer_Start() {
	srv := amocrmtest.New(amocrmtest.WithSeed(amocrmtest.DemoAccount))
	if err := srv.Start("127.0.0.1:0"); err != nil {
		panic(err)
	}
	defer srv.Close()

	req, _ := http.NewRequest("GET", srv.URL+"/api/v4/contacts?query=89161234567", nil)
	req.Header.Set("Authorization", "Bearer "+srv.AccessToken())
	resp, err := srv.HTTPClient().Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var body struct {
		Embedded struct {
			Contacts []struct {
				Name string `json:"name"`
			} `json:"contacts"`
		} `json:"_embedded"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	fmt.Println(resp.StatusCode, body.Embedded.Contacts[0].Name)
	// Output: 200 Анна Смирнова
}
