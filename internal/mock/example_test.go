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
