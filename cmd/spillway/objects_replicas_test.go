package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/spillwayhq/spillway/internal/mock"
)

// TestBatchAcrossReplicasOverPostgres is the batch story through the
// wired binary: a file uploaded on replica A, a batch of it created on B,
// polled on A until done, and both replicas' followers racing on it: its
// usage lands once, in the shared store, against the key that made it.
func TestBatchAcrossReplicasOverPostgres(t *testing.T) {
	storeURL := postgresSchema(t)
	m := mock.New(mock.Options{Name: "upstream", BatchPolls: 2})
	up := httptest.NewServer(m)
	defer up.Close()
	defer m.Close()
	a, b := startReplica(t, storeURL), startReplica(t, storeURL)
	code, body := a.do(t, http.MethodPost, "/admin/v1/deployments", "sk-admin-test",
		`{"id":"gpt4o-1","model":"gpt-4o","class":"openai-chat","provider":"openai","endpoint":"`+up.URL+`","api_key":"sk-upstream"}`)
	if code != http.StatusCreated && code != http.StatusOK {
		t.Fatalf("create deployment: %d %s", code, body)
	}
	b.app.catalog.Tick(context.Background(), false)

	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	_ = mw.WriteField("purpose", "batch")
	fw, _ := mw.CreateFormFile("file", "in.jsonl")
	for _, q := range []string{"one", "two"} {
		_, _ = io.WriteString(fw, `{"custom_id":"`+q+`","method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4o","messages":[{"role":"user","content":"say `+q+`"}]}}`+"\n")
	}
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, a.srv.URL+"/v1/files", &form)
	req.Header.Set("Authorization", "Bearer sk-client")
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := a.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var file struct{ ID string }
	_ = json.NewDecoder(resp.Body).Decode(&file)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(file.ID, "file-sw") {
		t.Fatalf("upload on A: %d, id %q", resp.StatusCode, file.ID)
	}

	code, body = b.do(t, http.MethodPost, "/v1/batches", "sk-client", `{"input_file_id":"`+file.ID+`","endpoint":"/v1/chat/completions","completion_window":"24h"}`)
	var batch struct{ ID, Status string }
	if err := json.Unmarshal([]byte(body), &batch); err != nil || code != http.StatusOK {
		t.Fatalf("batch on B: %d %s", code, body)
	}
	code, body = a.do(t, http.MethodGet, "/v1/batches", "sk-client", "")
	if code != http.StatusOK || !strings.Contains(body, batch.ID) {
		t.Errorf("A's list of batches: %d %s, want the batch made on B", code, body)
	}

	var wg sync.WaitGroup
	charged := make(chan int, 6)
	for range 3 {
		for _, r := range []*replica{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n, err := r.app.batches.Round(context.Background())
				if err != nil {
					t.Errorf("Round: %v", err)
				}
				charged <- n
			}()
		}
		wg.Wait()
	}
	close(charged)
	total := 0
	for n := range charged {
		total += n
	}
	if total != 1 {
		t.Errorf("batches charged by the two followers: %d, want 1", total)
	}
	o, err := a.app.store.GetObject(context.Background(), batch.ID)
	if err != nil || !o.Charged || o.Status != "completed" {
		t.Fatalf("registry entry %+v, %v; want completed and charged", o, err)
	}
	db, err := sql.Open("pgx", storeURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	var key string
	if err := db.QueryRow(`SELECT count(*), min(key_id) FROM usage WHERE batch_id = $1`, batch.ID).Scan(&n, &key); err != nil {
		t.Fatal(err)
	}
	if n != 2 || key != "static:client" {
		t.Errorf("usage records of the batch: %d of key %q, want 2 of static:client", n, key)
	}
}
