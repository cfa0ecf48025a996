package mock

import (
	"bufio"
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"time"
)

// Batches run the lines of an uploaded JSONL file as chat completions.
// A batch moves on one step per GET: validating, in_progress, then
// completed after Options.BatchPolls polls, when it writes its output file
// of real chat.completion bodies with usage, one line per input line.

const (
	maxBatches = 1000
	batchTTL   = 24 * time.Hour
	// DefaultBatchPolls is how many GETs a batch takes to complete.
	DefaultBatchPolls = 2
)

type requestCounts struct {
	Total     int `json:"total"`
	Completed int `json:"completed"`
	Failed    int `json:"failed"`
}

type mockBatch struct {
	ID               string            `json:"id"`
	Object           string            `json:"object"`
	Endpoint         string            `json:"endpoint"`
	Errors           any               `json:"errors"`
	InputFileID      string            `json:"input_file_id"`
	CompletionWindow string            `json:"completion_window"`
	Status           string            `json:"status"`
	OutputFileID     *string           `json:"output_file_id"`
	ErrorFileID      *string           `json:"error_file_id"`
	CreatedAt        int64             `json:"created_at"`
	InProgressAt     *int64            `json:"in_progress_at"`
	ExpiresAt        int64             `json:"expires_at"`
	CompletedAt      *int64            `json:"completed_at"`
	CancelledAt      *int64            `json:"cancelled_at"`
	RequestCounts    requestCounts     `json:"request_counts"`
	Metadata         map[string]string `json:"metadata"`
	polls            int
}

func (c *call) createBatch() {
	var req struct {
		InputFileID      string            `json:"input_file_id"`
		Endpoint         string            `json:"endpoint"`
		CompletionWindow string            `json:"completion_window"`
		Metadata         map[string]string `json:"metadata"`
	}
	if !c.readBody(&req) {
		return
	}
	f, ok := c.s.files.get(req.InputFileID)
	switch {
	case req.Endpoint != "/v1/chat/completions" && req.Endpoint != "/chat/completions":
		badRequest(c.w, "The mock runs batches of /v1/chat/completions only, not '"+req.Endpoint+"'.", "endpoint", "invalid_value")
		return
	case !ok:
		c.notFound("file", req.InputFileID)
		return
	case f.Purpose != "batch":
		badRequest(c.w, "File "+f.ID+" has purpose '"+f.Purpose+"'; a batch input file must have purpose 'batch'.", "input_file_id", "invalid_value")
		return
	}
	now := time.Now().Unix()
	b := mockBatch{ID: c.objectID("batch_", 4), Object: "batch", Endpoint: req.Endpoint, InputFileID: f.ID,
		CompletionWindow: req.CompletionWindow, Status: "validating", CreatedAt: now, ExpiresAt: now + 86400,
		RequestCounts: requestCounts{Total: bytes.Count(f.content, []byte("\n")) + 1}, Metadata: req.Metadata}
	c.s.batches.add(b.ID, b)
	c.writeObject(b)
}

// getBatch answers GET .../batches/{id}, a step further than last time.
func (c *call) getBatch() {
	var b mockBatch
	found := c.s.batches.with(c.route.id, func(p *mockBatch) {
		c.advanceBatch(p)
		b = *p
	})
	if !found {
		c.notFound("batch", c.route.id)
		return
	}
	c.writeObject(b)
}

func (c *call) advanceBatch(b *mockBatch) {
	if b.Status != "validating" && b.Status != "in_progress" {
		return
	}
	b.polls++
	now := time.Now().Unix()
	if b.InProgressAt == nil {
		b.InProgressAt = &now
		b.Status = "in_progress"
	}
	if b.polls < c.s.batchPolls {
		return
	}
	in, ok := c.s.files.get(b.InputFileID)
	if !ok {
		b.Status = "failed"
		return
	}
	out, n := c.runBatch(in.content)
	f := c.newFile("batch_output.jsonl", "batch_output", out)
	b.Status, b.OutputFileID, b.CompletedAt = "completed", &f.ID, &now
	b.RequestCounts = requestCounts{Total: n, Completed: n}
}

// runBatch answers every line of a batch input file as the chat route
// would, and returns the output file's content and the line count.
func (c *call) runBatch(input []byte) ([]byte, int) {
	var out bytes.Buffer
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(input))
	sc.Buffer(nil, maxRequestBody)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		n++
		var in struct {
			CustomID string      `json:"custom_id"`
			Body     chatRequest `json:"body"`
		}
		_ = json.Unmarshal(line, &in)
		h := newHasher()
		prompt := 3
		for _, m := range in.Body.Messages {
			h.add(m.Role)
			h.add(string(m.Content))
			prompt += 4 + approxTokens(string(m.Content))
		}
		a := newAnswer(uint64(h), in.Body.MaxTokens)
		id := c.objectID("batch_req_", uint64(n)+5)
		body := map[string]any{
			"id": "chatcmpl-" + id, "object": "chat.completion", "created": time.Now().Unix(), "model": in.Body.Model,
			"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": string(a.appendText(nil))}, "finish_reason": a.finish}},
			"usage":   map[string]any{"prompt_tokens": prompt, "completion_tokens": a.n, "total_tokens": prompt + a.n},
		}
		rec := map[string]any{"id": id, "custom_id": in.CustomID, "response": map[string]any{"status_code": 200, "request_id": id, "body": body}, "error": nil}
		b, _ := json.Marshal(rec)
		out.Write(b)
		out.WriteByte('\n')
	}
	return out.Bytes(), n
}

func (c *call) cancelBatch() {
	var b mockBatch
	found := c.s.batches.with(c.route.id, func(p *mockBatch) {
		if p.Status == "validating" || p.Status == "in_progress" {
			now := time.Now().Unix()
			p.Status, p.CancelledAt = "cancelled", &now
		}
		b = *p
	})
	if !found {
		c.notFound("batch", c.route.id)
		return
	}
	c.writeObject(b)
}

func (c *call) listBatches() {
	var all []mockBatch
	c.s.batches.each(func(b *mockBatch) { all = append(all, *b) })
	slices.Reverse(all)
	c.writeObject(map[string]any{"object": "list", "data": all, "has_more": false})
}

func itoa(n int) string { return strconv.Itoa(n) }
