package mock

import (
	"encoding/json"
	"net/http"
	"slices"
	"time"
)

// Files, as OpenAI and Azure keep them: uploaded as multipart, listed,
// read back, deleted. Only the server that took a file knows it; another
// gets OpenAI's 404, as another upstream would.

const (
	maxFiles = 10000
	fileTTL  = 24 * time.Hour
)

// mockFile is one stored file.
type mockFile struct {
	ID        string `json:"id"`
	Object    string `json:"object"`
	Bytes     int    `json:"bytes"`
	CreatedAt int64  `json:"created_at"`
	Filename  string `json:"filename"`
	Purpose   string `json:"purpose"`
	Status    string `json:"status"`
	ExpiresAt *int64 `json:"expires_at"`
	content   []byte
}

// newFile stores content as a file of this server and returns it.
func (c *call) newFile(filename, purpose string, content []byte) mockFile {
	f := mockFile{ID: c.objectID("file-", 1), Object: "file", Bytes: len(content), CreatedAt: time.Now().Unix(),
		Filename: filename, Purpose: purpose, Status: "processed", content: content}
	c.s.files.add(f.ID, f)
	return f
}

// writeObject answers v as JSON.
func (c *call) writeObject(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(c.w, http.StatusInternalServerError, "cannot encode the answer", "server_error", "", "")
		return
	}
	c.writeBody(b)
}

// notFound is OpenAI's 404 for an object this server does not hold.
func (c *call) notFound(kind, id string) {
	writeError(c.w, http.StatusNotFound, "No such "+kind+": "+id, "invalid_request_error", "id", "")
}

// createFile answers POST .../files.
func (c *call) createFile() {
	f, ok := c.readMultipart(formOptions{keepFiles: true})
	if !ok {
		return
	}
	files := f.filesOf("file")
	switch {
	case len(files) == 0:
		badRequest(c.w, "Missing required parameter: 'file'.", "file", "missing_required_parameter")
		return
	case f.value("purpose") == "":
		badRequest(c.w, "Missing required parameter: 'purpose'.", "purpose", "missing_required_parameter")
		return
	}
	c.writeObject(c.newFile(files[0].filename, f.value("purpose"), files[0].content))
}

// listFiles answers GET .../files: this server's files, newest first.
func (c *call) listFiles() {
	var all []mockFile
	c.s.files.each(func(f *mockFile) { all = append(all, *f) })
	slices.SortFunc(all, func(a, b mockFile) int { return int(b.CreatedAt - a.CreatedAt) })
	c.writeObject(map[string]any{"object": "list", "data": all, "has_more": false})
}

func (c *call) getFile() {
	f, ok := c.s.files.get(c.route.id)
	if !ok {
		c.notFound("file", c.route.id)
		return
	}
	c.writeObject(f)
}

func (c *call) deleteFile() {
	if !c.s.files.remove(c.route.id) {
		c.notFound("file", c.route.id)
		return
	}
	c.writeObject(map[string]any{"id": c.route.id, "object": "file", "deleted": true})
}

// fileContent answers GET .../files/{id}/content with the bytes stored.
func (c *call) fileContent() {
	f, ok := c.s.files.get(c.route.id)
	if !ok {
		c.notFound("file", c.route.id)
		return
	}
	c.writeBodyAs([]string{"application/octet-stream"}, f.content)
}
