package mock

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// Vector stores hold files of the same server for file_search. Files are
// "processed" at once; a search scores each file by the query words its
// content holds. A file batch adds several files and is done at once (a
// cancel answers it as it is).

const (
	maxVectorStores = 1000
	vectorStoreTTL  = 24 * time.Hour
)

type fileCounts struct {
	InProgress int `json:"in_progress"`
	Completed  int `json:"completed"`
	Failed     int `json:"failed"`
	Cancelled  int `json:"cancelled"`
	Total      int `json:"total"`
}

type mockVectorStore struct {
	ID           string            `json:"id"`
	Object       string            `json:"object"`
	CreatedAt    int64             `json:"created_at"`
	Name         string            `json:"name"`
	UsageBytes   int               `json:"usage_bytes"`
	FileCounts   fileCounts        `json:"file_counts"`
	Status       string            `json:"status"`
	LastActiveAt int64             `json:"last_active_at"`
	Metadata     map[string]string `json:"metadata"`
	files        []vsFile
	batches      map[string]vsBatch
}

type vsFile struct {
	ID            string  `json:"id"`
	Object        string  `json:"object"`
	CreatedAt     int64   `json:"created_at"`
	VectorStoreID string  `json:"vector_store_id"`
	Status        string  `json:"status"`
	UsageBytes    int     `json:"usage_bytes"`
	LastError     *string `json:"last_error"`
	batch         string
}

type vsBatch struct {
	ID            string     `json:"id"`
	Object        string     `json:"object"`
	CreatedAt     int64      `json:"created_at"`
	VectorStoreID string     `json:"vector_store_id"`
	Status        string     `json:"status"`
	FileCounts    fileCounts `json:"file_counts"`
}

// attach adds files of this server to vs; it answers 404 itself for a
// file it does not hold.
func (c *call) attach(vs *mockVectorStore, ids []string, batch string) bool {
	now := time.Now().Unix()
	for _, id := range ids {
		f, ok := c.s.files.get(id)
		if !ok {
			c.notFound("file", id)
			return false
		}
		if slices.ContainsFunc(vs.files, func(x vsFile) bool { return x.ID == id }) {
			continue
		}
		vs.files = append(vs.files, vsFile{ID: id, Object: "vector_store.file", CreatedAt: now, VectorStoreID: vs.ID, Status: "completed", UsageBytes: f.Bytes, batch: batch})
		vs.UsageBytes += f.Bytes
	}
	vs.FileCounts = fileCounts{Completed: len(vs.files), Total: len(vs.files)}
	return true
}

func (c *call) createVectorStore() {
	var req struct {
		Name     string            `json:"name"`
		FileIDs  []string          `json:"file_ids"`
		Metadata map[string]string `json:"metadata"`
	}
	if !c.readBody(&req) {
		return
	}
	now := time.Now().Unix()
	vs := mockVectorStore{ID: c.objectID("vs_", 6), Object: "vector_store", CreatedAt: now, Name: req.Name, Status: "completed", LastActiveAt: now, Metadata: req.Metadata, batches: map[string]vsBatch{}}
	if !c.attach(&vs, req.FileIDs, "") {
		return
	}
	c.s.vectorStores.add(vs.ID, vs)
	c.writeObject(vs)
}

// withStore calls f on the path's vector store, or answers 404.
func (c *call) withStore(f func(*mockVectorStore)) {
	if !c.s.vectorStores.with(c.route.id, f) {
		c.notFound("vector store", c.route.id)
	}
}

func (c *call) getVectorStore() {
	c.withStore(func(vs *mockVectorStore) { c.writeObject(*vs) })
}

func (c *call) modifyVectorStore() {
	var req struct {
		Name     *string           `json:"name"`
		Metadata map[string]string `json:"metadata"`
	}
	if !c.readBody(&req) {
		return
	}
	c.withStore(func(vs *mockVectorStore) {
		if req.Name != nil {
			vs.Name = *req.Name
		}
		if req.Metadata != nil {
			vs.Metadata = req.Metadata
		}
		c.writeObject(*vs)
	})
}

func (c *call) deleteVectorStore() {
	if !c.s.vectorStores.remove(c.route.id) {
		c.notFound("vector store", c.route.id)
		return
	}
	c.writeObject(map[string]any{"id": c.route.id, "object": "vector_store.deleted", "deleted": true})
}

func (c *call) listVectorStores() {
	var all []mockVectorStore
	c.s.vectorStores.each(func(vs *mockVectorStore) { all = append(all, *vs) })
	slices.Reverse(all)
	c.writeObject(map[string]any{"object": "list", "data": all, "has_more": false})
}

// searchVectorStore scores each file by how many of the query's words its
// content holds, best first; files holding none are left out.
func (c *call) searchVectorStore() {
	var req struct {
		Query any `json:"query"`
	}
	if !c.readBody(&req) {
		return
	}
	var words []string
	switch q := req.Query.(type) {
	case string:
		words = strings.Fields(strings.ToLower(q))
	case []any:
		for _, s := range q {
			if s, ok := s.(string); ok {
				words = append(words, strings.Fields(strings.ToLower(s))...)
			}
		}
	}
	type result struct {
		FileID   string           `json:"file_id"`
		Filename string           `json:"filename"`
		Score    float64          `json:"score"`
		Content  []map[string]any `json:"content"`
	}
	var results []result
	c.withStore(func(vs *mockVectorStore) {
		for _, vf := range vs.files {
			f, ok := c.s.files.get(vf.ID)
			if !ok || len(words) == 0 {
				continue
			}
			text := bytes.ToLower(f.content)
			hits := 0
			for _, w := range words {
				if bytes.Contains(text, []byte(w)) {
					hits++
				}
			}
			if hits > 0 {
				results = append(results, result{FileID: f.ID, Filename: f.Filename, Score: float64(hits) / float64(len(words)),
					Content: []map[string]any{{"type": "text", "text": string(f.content)}}})
			}
		}
		slices.SortStableFunc(results, func(a, b result) int {
			switch {
			case a.Score > b.Score:
				return -1
			case a.Score < b.Score:
				return 1
			}
			return 0
		})
		c.writeObject(map[string]any{"object": "vector_store.search_results.page", "search_query": req.Query, "data": results, "has_more": false, "next_page": nil})
	})
}

func (c *call) addVectorStoreFile() {
	var req struct {
		FileID string `json:"file_id"`
	}
	if !c.readBody(&req) {
		return
	}
	c.withStore(func(vs *mockVectorStore) {
		if !c.attach(vs, []string{req.FileID}, "") {
			return
		}
		c.writeObject(vs.files[slices.IndexFunc(vs.files, func(x vsFile) bool { return x.ID == req.FileID })])
	})
}

func (c *call) listVectorStoreFiles() {
	c.withStore(func(vs *mockVectorStore) {
		c.writeObject(map[string]any{"object": "list", "data": vs.files, "has_more": false})
	})
}

// vsFileAt finds the path's file in vs, or answers 404.
func (c *call) vsFileAt(vs *mockVectorStore) int {
	i := slices.IndexFunc(vs.files, func(x vsFile) bool { return x.ID == c.route.sub })
	if i < 0 {
		c.notFound("vector store file", c.route.sub)
	}
	return i
}

func (c *call) getVectorStoreFile() {
	c.withStore(func(vs *mockVectorStore) {
		if i := c.vsFileAt(vs); i >= 0 {
			c.writeObject(vs.files[i])
		}
	})
}

func (c *call) deleteVectorStoreFile() {
	c.withStore(func(vs *mockVectorStore) {
		i := c.vsFileAt(vs)
		if i < 0 {
			return
		}
		vs.UsageBytes -= vs.files[i].UsageBytes
		vs.files = slices.Delete(vs.files, i, i+1)
		vs.FileCounts = fileCounts{Completed: len(vs.files), Total: len(vs.files)}
		c.writeObject(map[string]any{"id": c.route.sub, "object": "vector_store.file.deleted", "deleted": true})
	})
}

func (c *call) vectorStoreFileContent() {
	c.withStore(func(vs *mockVectorStore) {
		if i := c.vsFileAt(vs); i >= 0 {
			f, _ := c.s.files.get(c.route.sub)
			c.writeObject(map[string]any{"object": "vector_store.file_content.page", "data": []map[string]any{{"type": "text", "text": string(f.content)}}, "has_more": false, "next_page": nil})
		}
	})
}

func (c *call) createFileBatch() {
	var req struct {
		FileIDs []string `json:"file_ids"`
	}
	if !c.readBody(&req) {
		return
	}
	c.withStore(func(vs *mockVectorStore) {
		b := vsBatch{ID: c.objectID("vsfb_", 7), Object: "vector_store.files_batch", CreatedAt: time.Now().Unix(), VectorStoreID: vs.ID, Status: "completed"}
		if !c.attach(vs, req.FileIDs, b.ID) {
			return
		}
		b.FileCounts = fileCounts{Completed: len(req.FileIDs), Total: len(req.FileIDs)}
		vs.batches[b.ID] = b
		c.writeObject(b)
	})
}

func (c *call) getFileBatch() {
	c.withStore(func(vs *mockVectorStore) {
		b, ok := vs.batches[c.route.sub]
		if !ok {
			c.notFound("file batch", c.route.sub)
			return
		}
		c.writeObject(b)
	})
}

func (c *call) listFileBatchFiles() {
	c.withStore(func(vs *mockVectorStore) {
		if _, ok := vs.batches[c.route.sub]; !ok {
			c.notFound("file batch", c.route.sub)
			return
		}
		var files []vsFile
		for _, f := range vs.files {
			if f.batch == c.route.sub {
				files = append(files, f)
			}
		}
		c.writeObject(map[string]any{"object": "list", "data": files, "has_more": false})
	})
}

// vectorStoresKnown answers 404 for a file_search tool naming a vector
// store this server does not hold, as OpenAI does; it reports whether all
// are known.
func (c *call) vectorStoresKnown(ids []string) bool {
	for _, id := range ids {
		if _, ok := c.s.vectorStores.get(id); !ok {
			c.notFound("vector store", id)
			return false
		}
	}
	return true
}

// fileSearchStores lists the vector_store_ids of a request's file_search
// tools.
func fileSearchStores(tools []byte) []string {
	var ts []struct {
		Type           string   `json:"type"`
		VectorStoreIDs []string `json:"vector_store_ids"`
	}
	if json.Unmarshal(tools, &ts) != nil {
		return nil
	}
	var ids []string
	for _, t := range ts {
		if t.Type == "file_search" {
			ids = append(ids, t.VectorStoreIDs...)
		}
	}
	return ids
}
