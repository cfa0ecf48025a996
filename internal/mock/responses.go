package mock

import (
	"encoding/base64"
	"encoding/binary"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The Responses API: POST .../responses creates a response; stored ones
// (store defaults to true) can be read, listed, cancelled and deleted on
// the server that made them (respstore.go), and streamed as events
// (respstream.go). A response is computed whole when it is created, so a
// stream, a background job and a later GET all show the same answer.

const (
	// maxResponses bounds the responses a server keeps; the oldest go
	// first.
	maxResponses = 10000
	// responseTTL is how long a stored response lives; OpenAI keeps them
	// 30 days.
	responseTTL = 24 * time.Hour
	// minOutputTokens is the lowest max_output_tokens OpenAI accepts.
	minOutputTokens = 16
)

// Response statuses.
const (
	statusQueued     = "queued"
	statusInProgress = "in_progress"
	statusCompleted  = "completed"
	statusIncomplete = "incomplete"
	statusCancelled  = "cancelled"
)

// reasoningEffort maps reasoning.effort to the reasoning tokens a
// reasoning model spends.
var reasoningEffort = map[string]int{"none": 0, "minimal": 8, "low": 16, "medium": 64, "high": 256, "xhigh": 512, "max": 1024}

type itemKind uint8

const (
	itemMessage itemKind = iota + 1
	itemReasoning
	itemFunctionCall
)

// outItem is one output item.
type outItem struct {
	kind   itemKind
	id     string
	status string // completed or incomplete
	// text is the message's text, the call's arguments or the reasoning
	// summary ("" for none); deltas are its pieces as a stream sends them.
	text         string
	deltas       []string
	tokens       int    // output tokens of text
	callID, name string // of a function call
	encrypted    string // of a reasoning item, when asked for
}

type respUsage struct {
	input, cached, output, reasoning int
}

// respEcho holds the request fields a response repeats, as JSON.
type respEcho struct {
	instructions, tools, toolChoice, text, metadata []byte
	effort, summary                                 string // "" is null
	maxOutputTokens                                 int    // 0 is null
	parallelToolCalls                               bool
	temperature, topP                               float64
	user                                            string
}

// respState is a response: everything needed to render it.
type respState struct {
	id         string
	createdAt  int64
	model      string
	status     string // now: queued, in_progress, or final
	final      string // completed or incomplete, once generated
	background bool
	store      bool
	previousID string
	echo       respEcho
	output     []outItem
	usage      respUsage
	input      []respItem // with ids, for input_items
	// seed and context carry the conversation to a response that names
	// this one as its previous_response_id: its hash and its tokens.
	seed    uint64
	context int
}

// createResponse answers POST .../responses.
func (c *call) createResponse() {
	var req responseRequest
	if !c.readBody(&req) {
		return
	}
	model, ok := c.requireModel(req.Model)
	if !ok || !c.checkResponseRequest(&req) {
		return
	}
	prev, ok := c.previousResponse(req.PreviousResponseID)
	if !ok || !c.vectorStoresKnown(fileSearchStores(req.Tools)) {
		return
	}
	conv := conversationOf(req.Conversation)
	if _, known := c.s.conversations.get(conv); conv != "" && !known {
		c.notFound("conversation", conv)
		return
	}
	st := c.newResponse(&req, model, prev)
	if conv != "" {
		c.recordTurn(conv, st.input, &st)
	}
	switch {
	case req.Stream:
		if st.store {
			c.s.responses.add(st.id, st)
		}
		c.streamResponse(&st, -1)
	case req.Background:
		st.status = statusQueued
		c.s.responses.add(st.id, st)
		c.writeResponse(&st)
	default:
		if !c.sleep(c.generationDelay(st.usage.output)) {
			return
		}
		if st.store {
			c.s.responses.add(st.id, st)
		}
		c.writeResponse(&st)
	}
}

// checkResponseRequest rejects what OpenAI rejects before generating.
func (c *call) checkResponseRequest(req *responseRequest) bool {
	switch {
	case !req.Input.set && req.PreviousResponseID == "":
		badRequest(c.w, "Missing required parameter: 'input'.", "input", "missing_required_parameter")
	case req.MaxOutputTokens != nil && *req.MaxOutputTokens < minOutputTokens:
		badRequest(c.w, "Invalid 'max_output_tokens': integer below minimum value. Expected a value >= "+strconv.Itoa(minOutputTokens)+", but got "+strconv.Itoa(*req.MaxOutputTokens)+" instead.", "max_output_tokens", "integer_below_min_value")
	case req.Background && req.Store != nil && !*req.Store:
		badRequest(c.w, "Background responses must be stored: 'store' cannot be false when 'background' is true.", "store", "invalid_value")
	default:
		return true
	}
	return false
}

// previousResponse finds the response a request continues, if it names
// one. Only this server knows the responses it made; another gets OpenAI's
// previous_response_not_found, a 400.
func (c *call) previousResponse(id string) (*respState, bool) {
	if id == "" {
		return nil, true
	}
	st, ok := c.s.responses.get(id)
	if !ok {
		badRequest(c.w, "Previous response with id '"+id+"' not found.", "previous_response_id", "previous_response_not_found")
		return nil, false
	}
	return &st, true
}

// newResponse generates the whole response to req.
func (c *call) newResponse(req *responseRequest, model string, prev *respState) respState {
	st := respState{
		id:         c.objectID("resp_", 0),
		createdAt:  time.Now().Unix(),
		model:      model,
		background: req.Background,
		store:      req.Store == nil || *req.Store,
		previousID: req.PreviousResponseID,
		echo:       newEcho(req, model),
	}
	h, context := newHasher(), 0
	if prev != nil {
		h.addUint(prev.seed)
		context = prev.context
	}
	st.input, st.usage.input = c.readInput(req, &h)
	st.usage.input += context
	st.usage.cached = context
	seed := uint64(h)

	budget := math.MaxInt
	if req.MaxOutputTokens != nil {
		budget = *req.MaxOutputTokens
	}
	if r := min(reasoningTokens(model, req.Reasoning), budget); r > 0 {
		budget -= r
		st.usage.reasoning = r
		st.output = append(st.output, c.reasoningItem(req, seed))
	}
	answer, complete := c.answerItem(req, st.input, seed, budget)
	if answer.kind != 0 {
		st.output = append(st.output, answer)
	}
	visible := answer.tokens
	st.usage.output = st.usage.reasoning + visible
	st.final = statusCompleted
	if !complete {
		st.final = statusIncomplete
	}
	st.status = st.final
	st.seed = splitmix(seed ^ uint64(len(answer.text)))
	st.context = st.usage.input + visible
	return st
}

// readInput assigns ids to the input items, feeds them and the
// instructions to h, and counts their tokens.
func (c *call) readInput(req *responseRequest, h *hasher) ([]respItem, int) {
	instr := instructionsText(req.Instructions)
	h.add(instr)
	tokens := approxTokens(instr)
	if len(req.Tools) > 0 && string(req.Tools) != "null" {
		tokens += approxTokens(string(req.Tools))
	}
	items := slices.Clone(req.Input.items)
	for i := range items {
		it := &items[i]
		if it.id == "" {
			it.id = c.objectID(itemPrefix(it.kind), uint64(i+1))
		}
		h.add(it.kind)
		h.add(it.role)
		h.add(it.text)
		tokens += 4 + approxTokens(it.text)
	}
	return items, tokens
}

func itemPrefix(kind string) string {
	switch kind {
	case "message":
		return "msg_"
	case "function_call":
		return "fc_"
	case "function_call_output":
		return "fco_"
	}
	return "item_"
}

// isReasoningModel reports whether model thinks before answering: the o
// series and GPT-5.
func isReasoningModel(model string) bool {
	return strings.HasPrefix(model, "gpt-5") || (len(model) > 1 && model[0] == 'o' && model[1] >= '0' && model[1] <= '9')
}

func reasoningTokens(model string, p *reasoningParam) int {
	if !isReasoningModel(model) {
		return 0
	}
	effort := "medium"
	if p != nil && p.Effort != "" {
		effort = p.Effort
	}
	n, ok := reasoningEffort[effort]
	if !ok {
		return reasoningEffort["medium"]
	}
	return n
}

// reasoningItem is the reasoning output item: a summary when one is asked
// for, encrypted content when include asks for it.
func (c *call) reasoningItem(req *responseRequest, seed uint64) outItem {
	it := outItem{kind: itemReasoning, id: c.objectID("rs_", 100), status: statusCompleted}
	if req.Reasoning != nil && req.Reasoning.Summary != "" && req.Reasoning.Summary != "none" {
		b := append([]byte(nil), "**Weighing the request**\n\n"...)
		it.text = string(newAnswer(splitmix(seed), 12).appendText(b))
		it.deltas = pieces(it.text)
	}
	if slices.Contains(req.Include, "reasoning.encrypted_content") {
		var raw [32]byte
		for i := range 4 {
			binary.LittleEndian.PutUint64(raw[8*i:], splitmix(seed+uint64(i)))
		}
		it.encrypted = "gAAAAA" + base64.StdEncoding.EncodeToString(raw[:])
	}
	return it
}

// answerItem is what the model says after reasoning, in at most budget
// tokens: a function call, JSON for a JSON text.format, or words. It
// reports whether the answer is complete; a zero item means the budget
// left nothing to say.
func (c *call) answerItem(req *responseRequest, items []respItem, seed uint64, budget int) (outItem, bool) {
	if len(req.Tools) > 0 {
		if call := decideCall(req.Tools, readToolChoice(req.ToolChoice), items, seed); call != nil {
			return outItem{
				kind: itemFunctionCall, id: c.objectID("fc_", 101), status: statusCompleted,
				text: call.arguments, deltas: pieces(call.arguments), tokens: approxTokens(call.arguments),
				callID: "call_" + c.objectID("", 102)[:24], name: call.name,
			}, true
		}
	}
	if budget <= 0 {
		return outItem{}, false
	}
	it := outItem{kind: itemMessage, id: c.objectID("msg_", 103), status: statusCompleted}
	if schema, ok := jsonFormat(req.Text); ok {
		text := jsonObjectText(newAnswer(seed, 0))
		if schema != nil {
			text = string(appendSchemaJSON(nil, schema, "", seed, 0))
		}
		if cut := cutText(text, budget); len(cut) < len(text) {
			it.status, text = statusIncomplete, cut
		}
		it.text, it.deltas, it.tokens = text, pieces(text), approxTokens(text)
		return it, it.status == statusCompleted
	}
	a := newAnswer(seed, min(budget, DefaultAnswerTokens))
	it.text, it.tokens = string(a.appendText(nil)), a.n
	it.deltas = make([]string, a.n)
	for i := range a.n {
		tok, period := a.token(i)
		if period {
			tok += "."
		}
		it.deltas[i] = tok
	}
	if a.finish == "length" {
		it.status = statusIncomplete
	}
	return it, it.status == statusCompleted
}

// newEcho collects the request fields the response repeats, with the
// defaults OpenAI fills in.
func newEcho(req *responseRequest, model string) respEcho {
	e := respEcho{
		instructions:      rawOr(req.Instructions, "null"),
		tools:             rawOr(req.Tools, "[]"),
		toolChoice:        rawOr(req.ToolChoice, `"auto"`),
		text:              rawOr(req.Text, `{"format":{"type":"text"},"verbosity":"medium"}`),
		metadata:          rawOr(req.Metadata, "{}"),
		parallelToolCalls: req.ParallelToolCalls == nil || *req.ParallelToolCalls,
		temperature:       1,
		topP:              1,
		user:              req.User,
	}
	if req.MaxOutputTokens != nil {
		e.maxOutputTokens = *req.MaxOutputTokens
	}
	if req.Temperature != nil {
		e.temperature = *req.Temperature
	}
	if req.TopP != nil {
		e.topP = *req.TopP
	}
	if isReasoningModel(model) {
		e.effort = "medium"
	}
	if req.Reasoning != nil {
		if req.Reasoning.Effort != "" {
			e.effort = req.Reasoning.Effort
		}
		e.summary = req.Reasoning.Summary
	}
	return e
}

// rawOr returns raw compacted, or def when raw is absent or null.
func rawOr(raw []byte, def string) []byte {
	if c := compactJSON(raw); string(c) != "null" {
		return c
	}
	return []byte(def)
}

// objectID is an id unique to this server, request and k: prefix and 48
// hex digits, the shape of OpenAI's ids.
func (c *call) objectID(prefix string, k uint64) string {
	x := splitmix(c.s.salt ^ uint64(c.seq)*0x9e3779b97f4a7c15 ^ k)
	b := make([]byte, 0, len(prefix)+48)
	b = append(b, prefix...)
	for range 3 {
		x = splitmix(x)
		b = appendHex64(b, x)
	}
	return string(b)
}

func appendHex64(b []byte, x uint64) []byte {
	for i := 60; i >= 0; i -= 4 {
		b = append(b, hexDigits[(x>>i)&0xf])
	}
	return b
}

// writeResponse writes st as it is now.
func (c *call) writeResponse(st *respState) {
	bp := getBuf()
	defer putBuf(bp)
	b := appendResponse((*bp)[:0], st, st.status)
	*bp = b
	c.writeBody(b)
}

// respondNotFound is OpenAI's 404 for a response id this server does not
// keep.
func (c *call) respondNotFound(id string) {
	writeError(c.w, http.StatusNotFound, "Response with id '"+id+"' not found.", "invalid_request_error", "", "")
}
