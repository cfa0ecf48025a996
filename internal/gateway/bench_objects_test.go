package gateway

import (
	"bytes"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/router"
)

// BenchmarkFileUpload sends 8 MiB files through the gateway to an
// upstream that discards them: the gateway's allocations per upload stay
// far below the file's size, because the body is streamed, not held.
func BenchmarkFileUpload(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":"file-abc","object":"file","bytes":` + strconv.FormatInt(n, 10) + `,"created_at":1,"filename":"f","purpose":"batch","status":"processed"}`))
	}))
	defer up.Close()
	r, err := router.New(router.Options{}, []config.Deployment{{ID: "d", Model: "gpt-4o", Class: config.ClassChat, Provider: config.ProviderOpenAI, Endpoint: up.URL, Deployment: "gpt-4o", Priority: 1, Weight: 1}})
	if err != nil {
		b.Fatal(err)
	}
	tr := NewTransport(2*time.Second, 10*time.Second)
	defer tr.CloseIdleConnections()
	gw := httptest.NewServer(New(Options{Router: r, Transport: tr, Auth: auth.NewStaticKeys([]auth.StaticKey{{Key: testKey, Name: "b"}}), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	defer gw.Close()

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("purpose", "batch")
	fw, _ := mw.CreateFormFile("file", "big.jsonl")
	_, _ = fw.Write([]byte(strings.Repeat("0123456789abcde\n", 8<<20/16)))
	_ = mw.Close()
	payload, ct := body.Bytes(), mw.FormDataContentType()
	client := gw.Client()
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodPost, gw.URL+"/v1/files", bytes.NewReader(payload))
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Authorization", "Bearer "+testKey)
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}
