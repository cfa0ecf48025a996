package admin

import (
	"encoding/json"
	"testing"
)

// FuzzRedactJSON: whatever JSON comes in, the result is nil or valid JSON
// in which no secret-named field keeps a non-empty string value.
func FuzzRedactJSON(f *testing.F) {
	for _, s := range []string{
		`{"id":"k","key":"sk-123","max_tokens":5}`,
		`{"api_key":"x","nested":{"client_secret":"y","list":[{"shared_code":"z"}]}}`,
		`[{"token":"a"},{"endpoint_key":"b"}]`,
		`{"key":null,"code":""}`,
		`not json`, ``, `"string"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		out := redactJSON(doc)
		if out == nil {
			return
		}
		var v any
		if err := json.Unmarshal(out, &v); err != nil {
			t.Fatalf("redactJSON(%q) = %q, not JSON: %v", doc, out, err)
		}
		var walk func(any)
		walk = func(v any) {
			switch v := v.(type) {
			case map[string]any:
				for k, x := range v {
					if s, ok := x.(string); ok && secretField(k) && s != "" && s != redacted {
						t.Fatalf("redactJSON(%q) kept %s = %q", doc, k, s)
					}
					walk(x)
				}
			case []any:
				for _, x := range v {
					walk(x)
				}
			}
		}
		walk(v)
	})
}

// TestSecretField: the names that hold secrets in the three dialects'
// bodies and answers, and counts and ids that do not.
func TestSecretField(t *testing.T) {
	for name, want := range map[string]bool{
		"key": true, "api_key": true, "endpoint_key": true, "master_key": true, "token": true,
		"shared_code": true, "client_secret": true, "access_token": true, "password": true, "Admin_Token": true,
		"id": false, "key_id": false, "max_tokens": false, "budget_tokens": false, "prefix": false,
		"event_code": false, "name": false, "tpm": false, "prompt_tokens": false,
	} {
		if got := secretField(name); got != want {
			t.Errorf("secretField(%q) = %v, want %v", name, got, want)
		}
	}
	if got := string(redactJSON([]byte(`{"event_code":"ev_1","shared_code":"s3cret"}`))); got != `{"event_code":"ev_1","shared_code":"[redacted]"}` {
		t.Errorf("redacted seed event = %s, want its id kept and its code redacted", got)
	}
}
