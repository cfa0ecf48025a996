package mock

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
)

// reusableBody lets one request be served b.N times without allocating a
// new body per iteration, so the figures are the handler's own.
type reusableBody struct{ bytes.Reader }

func (*reusableBody) Close() error { return nil }

func benchmarkHandler(b *testing.B, path, body string) {
	m := New(Options{})
	req := httptest.NewRequest(http.MethodPost, path, nil)
	req.Header.Set("Content-Type", "application/json")
	req.ContentLength = int64(len(body))
	rb := &reusableBody{}
	req.Body = rb
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		rb.Reset([]byte(body))
		rec := httptest.NewRecorder()
		m.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}

func BenchmarkChatCompletion(b *testing.B) {
	benchmarkHandler(b, "/v1/chat/completions", chatBody("gpt-4o", "Summarise the flood report for the operators in three sentences.", `"max_tokens":256,"temperature":0.2`))
}

func BenchmarkChatCompletionAzure(b *testing.B) {
	benchmarkHandler(b, "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21", chatBody("", "Summarise the flood report for the operators in three sentences.", ""))
}

func BenchmarkChatCompletionStream(b *testing.B) {
	benchmarkHandler(b, "/v1/chat/completions", chatBody("gpt-4o", "Summarise the flood report.", `"stream":true,"stream_options":{"include_usage":true}`))
}

func BenchmarkEmbeddings(b *testing.B) {
	benchmarkHandler(b, "/v1/embeddings", `{"model":"text-embedding-3-small","input":"Summarise the flood report.","encoding_format":"base64"}`)
}

func BenchmarkEmbeddingsFloat(b *testing.B) {
	benchmarkHandler(b, "/v1/embeddings", `{"model":"text-embedding-3-small","input":"Summarise the flood report."}`)
}

func BenchmarkResponse(b *testing.B) {
	benchmarkHandler(b, "/v1/responses", `{"model":"gpt-4o","instructions":"Be brief.","input":"Summarise the flood report for the operators in three sentences.","store":false}`)
}

func BenchmarkResponseStream(b *testing.B) {
	benchmarkHandler(b, "/v1/responses", `{"model":"gpt-4o","input":"Summarise the flood report.","store":false,"stream":true}`)
}
