package mock_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/spillwayhq/spillway/internal/mock"
)

func Example() {
	upstream := mock.New(mock.Options{Name: "eastus"})
	defer upstream.Close()
	srv := httptest.NewServer(upstream)
	defer srv.Close()

	resp, err := http.Post(srv.URL+"/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21", "application/json",
		strings.NewReader(`{"messages":[{"role":"user","content":"Hello"}],"max_tokens":5}`))
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var answer struct {
		Model   string `json:"model"`
		Choices []struct {
			Message      struct{ Content string }
			FinishReason string `json:"finish_reason"`
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		panic(err)
	}
	fmt.Println(resp.Header.Get("x-mock-name"), answer.Model, answer.Choices[0].FinishReason)
	fmt.Println(answer.Choices[0].Message.Content)
	// Output:
	// eastus gpt-4o length
	// Aute occaecat mock duis mollit
}

func ExampleParseFault() {
	f, err := mock.ParseFault("429:0.25:retry-after=5")
	if err != nil {
		panic(err)
	}
	fmt.Println(f.Status, f.Probability, f.RetryAfter, f)

	_, err = mock.ParseFault("429:1.5")
	fmt.Println(err)
	// Output:
	// 429 0.25 5s 429:0.25:retry-after=5
	// fault "429:1.5": probability must be in (0,1], got 1.5
}

// Stored responses live on the server that made them: a follow-up that
// reaches another server fails as it would upstream.
func Example_responses() {
	east, west := mock.New(mock.Options{Name: "east"}), mock.New(mock.Options{Name: "west"})
	defer east.Close()
	defer west.Close()
	eastSrv, westSrv := httptest.NewServer(east), httptest.NewServer(west)
	defer eastSrv.Close()
	defer westSrv.Close()

	post := func(url, body string) (int, map[string]any) {
		resp, err := http.Post(url+"/v1/responses", "application/json", strings.NewReader(body))
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		var v map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
			panic(err)
		}
		return resp.StatusCode, v
	}
	_, first := post(eastSrv.URL, `{"model":"gpt-4o","input":"What's the weather in Oslo?","tools":[{"type":"function","name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}]}`)
	call := first["output"].([]any)[0].(map[string]any)
	fmt.Println(first["status"], call["type"], call["name"], call["arguments"])

	follow := `{"model":"gpt-4o","previous_response_id":"` + first["id"].(string) + `","input":[{"type":"function_call_output","call_id":"` + call["call_id"].(string) + `","output":"4°C"}]}`
	status, second := post(eastSrv.URL, follow)
	fmt.Println(status, second["status"], second["output"].([]any)[0].(map[string]any)["type"])
	status, other := post(westSrv.URL, follow)
	fmt.Println(status, other["error"].(map[string]any)["code"])
	// Output:
	// completed function_call get_weather {"city":"Boston, MA"}
	// 200 completed message
	// 400 previous_response_not_found
}
