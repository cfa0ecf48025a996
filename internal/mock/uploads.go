package mock

import (
	"time"
)

// Uploads take a large file in parts: create, add parts, complete (which
// makes the file from the parts in the order given), or cancel.

const (
	maxUploads = 1000
	uploadTTL  = time.Hour
)

type mockUpload struct {
	ID        string    `json:"id"`
	Object    string    `json:"object"`
	Bytes     int       `json:"bytes"`
	CreatedAt int64     `json:"created_at"`
	ExpiresAt int64     `json:"expires_at"`
	Filename  string    `json:"filename"`
	Purpose   string    `json:"purpose"`
	Status    string    `json:"status"`
	File      *mockFile `json:"file"`
	parts     map[string][]byte
}

type mockPart struct {
	ID        string `json:"id"`
	Object    string `json:"object"`
	CreatedAt int64  `json:"created_at"`
	UploadID  string `json:"upload_id"`
}

func (c *call) createUpload() {
	var req struct {
		Bytes    int    `json:"bytes"`
		Filename string `json:"filename"`
		MimeType string `json:"mime_type"`
		Purpose  string `json:"purpose"`
	}
	if !c.readBody(&req) {
		return
	}
	if req.Filename == "" || req.Purpose == "" || req.Bytes <= 0 {
		badRequest(c.w, "An upload needs 'filename', 'purpose' and a positive 'bytes'.", "filename", "missing_required_parameter")
		return
	}
	now := time.Now().Unix()
	u := mockUpload{ID: c.objectID("upload_", 2), Object: "upload", Bytes: req.Bytes, CreatedAt: now, ExpiresAt: now + int64(uploadTTL/time.Second),
		Filename: req.Filename, Purpose: req.Purpose, Status: "pending", parts: map[string][]byte{}}
	c.s.uploads.add(u.ID, u)
	c.writeObject(u)
}

// addPart answers POST .../uploads/{id}/parts (multipart, field "data").
func (c *call) addPart() {
	f, ok := c.readMultipart(formOptions{keepFiles: true})
	if !ok {
		return
	}
	parts := f.filesOf("data")
	if len(parts) == 0 {
		badRequest(c.w, "Missing required parameter: 'data'.", "data", "missing_required_parameter")
		return
	}
	p := mockPart{ID: c.objectID("part_", 3), Object: "upload.part", CreatedAt: time.Now().Unix(), UploadID: c.route.id}
	status := ""
	found := c.s.uploads.with(c.route.id, func(u *mockUpload) {
		status = u.Status
		if u.Status == "pending" {
			u.parts[p.ID] = parts[0].content
		}
	})
	switch {
	case !found:
		c.notFound("upload", c.route.id)
	case status != "pending":
		badRequest(c.w, "Upload "+c.route.id+" is "+status+"; parts can only be added to a pending upload.", "upload_id", "invalid_state")
	default:
		c.writeObject(p)
	}
}

func (c *call) completeUpload() {
	var req struct {
		PartIDs []string `json:"part_ids"`
	}
	if !c.readBody(&req) {
		return
	}
	var (
		u       mockUpload
		problem string
	)
	found := c.s.uploads.with(c.route.id, func(p *mockUpload) {
		if p.Status != "pending" {
			problem = "Upload " + p.ID + " is " + p.Status + "."
			return
		}
		var content []byte
		for _, id := range req.PartIDs {
			part, ok := p.parts[id]
			if !ok {
				problem = "Part " + id + " is not a part of upload " + p.ID + "."
				return
			}
			content = append(content, part...)
		}
		if len(content) != p.Bytes {
			problem = "The parts hold " + itoa(len(content)) + " bytes; the upload was created for " + itoa(p.Bytes) + "."
			return
		}
		f := c.newFile(p.Filename, p.Purpose, content)
		p.Status, p.File = "completed", &f
		u = *p
	})
	switch {
	case !found:
		c.notFound("upload", c.route.id)
	case problem != "":
		badRequest(c.w, problem, "part_ids", "invalid_value")
	default:
		c.writeObject(u)
	}
}

func (c *call) cancelUpload() {
	var u mockUpload
	found := c.s.uploads.with(c.route.id, func(p *mockUpload) {
		if p.Status == "pending" {
			p.Status = "cancelled"
		}
		u = *p
	})
	if !found {
		c.notFound("upload", c.route.id)
		return
	}
	c.writeObject(u)
}
