package mock

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"
)

// The Realtime API (GA event names): GET /v1/realtime?model=M,
// /openai/v1/realtime?model=DEPLOYMENT and Azure's preview
// /openai/realtime?api-version=V&deployment=DEPLOYMENT upgrade to a
// WebSocket. The mock keeps one conversation per connection and answers
// the client events the SDKs send:
//
//   - session.update → session.updated (top-level fields merged);
//   - conversation.item.create → conversation.item.added, .done;
//     .retrieve, .delete, .truncate → .retrieved, .deleted, .truncated;
//   - input_audio_buffer.append / .commit / .clear → .committed (with the
//     user's audio item) / .cleared;
//   - response.create → response.created, output item and content part
//     events, response.output_text.delta (or response.output_audio.delta
//     and response.output_audio_transcript.delta for audio), their .done
//     events, and response.done with usage;
//   - anything else (bad JSON, an unknown type, a missing field) → an
//     error event naming the problem; the session stays open.
//
// Usage is counted the mock's way: text at ~4 characters a token, input
// audio at 10 tokens a second of 24 kHz PCM16, output audio at two tokens
// per transcript token; the conversation sent to an earlier response
// counts as cached. A binary frame, which OpenAI does not use, is echoed
// back unchanged so relays can be tested with one. FaultResetMidStream
// drops the connection (no close frame) after After server events.

// realtimeAudioBytesPerToken is 100 ms of 24 kHz 16-bit mono PCM.
const realtimeAudioBytesPerToken = 4800

// realtimeAudioPerToken is how many output audio bytes the mock sends
// for each transcript token.
const realtimeAudioPerToken = 960

// realtime serves a Realtime session.
func (c *call) realtime() {
	param := "model"
	if c.route.shape == shapeAzurePreview {
		param = "deployment"
	}
	model, _ := queryValue(c.r.URL.RawQuery, param)
	if model == "" {
		writeError(c.w, http.StatusBadRequest, "Missing required parameter: '"+param+"'.", "invalid_request_error", param, "missing_required_parameter")
		return
	}
	if !strings.EqualFold(c.r.Header.Get("Upgrade"), "websocket") {
		writeError(c.w, http.StatusBadRequest, "The Realtime API is a WebSocket: send an upgrade request.", "invalid_request_error", "", "websocket_required")
		return
	}
	conn, err := websocket.Accept(c.w, c.r, &websocket.AcceptOptions{Subprotocols: []string{"realtime"}, InsecureSkipVerify: true})
	if err != nil {
		return // Accept answered the handshake's problem
	}
	defer conn.CloseNow()
	conn.SetReadLimit(maxRequestBody)
	// Close ends the session like every other waiting answer; the watcher
	// is gone before the pooled call is reused.
	ctx, cancel := context.WithCancel(c.r.Context())
	stopped, watched := c.s.done, make(chan struct{})
	go func() {
		defer close(watched)
		select {
		case <-stopped:
			conn.CloseNow()
		case <-ctx.Done():
		}
	}()
	defer func() {
		cancel()
		<-watched
	}()
	rs := &rtSession{c: c, conn: conn, model: model, id: "sess_" + c.s.name + "-" + strconv.FormatInt(c.seq, 10)}
	rs.session = map[string]any{
		"type": "realtime", "object": "realtime.session", "id": rs.id, "model": model,
		"output_modalities": []any{"audio"}, "instructions": "", "tools": []any{}, "tool_choice": "auto",
		"max_output_tokens": "inf", "tracing": nil, "prompt": nil, "include": nil,
		"expires_at": time.Now().Add(30 * time.Minute).Unix(),
		"audio": map[string]any{
			"input":  map[string]any{"format": map[string]any{"type": "audio/pcm", "rate": 24000}, "transcription": nil, "noise_reduction": nil, "turn_detection": nil},
			"output": map[string]any{"format": map[string]any{"type": "audio/pcm", "rate": 24000}, "voice": "alloy", "speed": 1},
		},
	}
	if !rs.send(ctx, map[string]any{"type": "session.created", "session": rs.session}) {
		return
	}
	rs.loop(ctx)
}

// rtSession is one Realtime connection's state.
type rtSession struct {
	c       *call
	conn    *websocket.Conn
	model   string
	id      string
	session map[string]any
	// items is the conversation; lastItem the id of its last item.
	items    []map[string]any
	lastItem string
	// inputTokens counts the conversation's tokens; cached those already
	// sent to an earlier response.
	inputText, inputAudio int
	cached                int
	audioBuf              int // bytes appended, not yet committed
	events, ids           int
	responses             int
	dropped               bool
}

func (rs *rtSession) loop(ctx context.Context) {
	for {
		typ, msg, err := rs.conn.Read(ctx)
		if err != nil {
			return
		}
		if typ == websocket.MessageBinary {
			if rs.conn.Write(ctx, websocket.MessageBinary, msg) != nil {
				return
			}
			continue
		}
		if !rs.handle(ctx, msg) {
			return
		}
	}
}

// handle answers one client event; false ends the session.
func (rs *rtSession) handle(ctx context.Context, msg []byte) bool {
	var ev map[string]any
	if err := json.Unmarshal(msg, &ev); err != nil {
		return rs.fail(ctx, nil, "invalid_json", "", "The event is not valid JSON: "+err.Error())
	}
	typ, _ := ev["type"].(string)
	switch typ {
	case "":
		return rs.fail(ctx, ev, "missing_required_parameter", "type", "Missing required parameter: 'type'.")
	case "session.update":
		upd, ok := ev["session"].(map[string]any)
		if !ok {
			return rs.fail(ctx, ev, "missing_required_parameter", "session", "Missing required parameter: 'session'.")
		}
		if t, ok := upd["type"].(string); ok && t != "realtime" {
			return rs.fail(ctx, ev, "invalid_value", "session.type", "Invalid value: '"+t+"'. This session is of type 'realtime'.")
		}
		for k, v := range upd {
			rs.session[k] = v
		}
		return rs.send(ctx, map[string]any{"type": "session.updated", "session": rs.session})
	case "conversation.item.create":
		item, ok := ev["item"].(map[string]any)
		if !ok {
			return rs.fail(ctx, ev, "missing_required_parameter", "item", "Missing required parameter: 'item'.")
		}
		if t, _ := item["type"].(string); t != "message" && t != "function_call" && t != "function_call_output" {
			return rs.fail(ctx, ev, "invalid_value", "item.type", "Invalid value for 'item.type': expected one of 'message', 'function_call', 'function_call_output'.")
		}
		rs.inputText += itemTokens(item)
		return rs.addItem(ctx, item)
	case "input_audio_buffer.append":
		audio, _ := ev["audio"].(string)
		b, err := base64.StdEncoding.DecodeString(audio)
		if err != nil || audio == "" {
			return rs.fail(ctx, ev, "invalid_value", "audio", "Invalid 'audio': expected base64-encoded audio bytes.")
		}
		rs.audioBuf += len(b)
		return true
	case "input_audio_buffer.clear":
		rs.audioBuf = 0
		return rs.send(ctx, map[string]any{"type": "input_audio_buffer.cleared"})
	case "input_audio_buffer.commit":
		if rs.audioBuf < realtimeAudioBytesPerToken {
			return rs.fail(ctx, ev, "input_audio_buffer_commit_empty", "", "Error committing input audio buffer: buffer too small. Expected at least 100ms of audio.")
		}
		rs.inputAudio += rs.audioBuf / realtimeAudioBytesPerToken
		rs.audioBuf = 0
		item := map[string]any{"type": "message", "role": "user", "content": []any{map[string]any{"type": "input_audio", "transcript": nil}}}
		rs.assignID(item)
		if !rs.send(ctx, map[string]any{"type": "input_audio_buffer.committed", "previous_item_id": nullable(rs.lastItem), "item_id": item["id"]}) {
			return false
		}
		return rs.addItem(ctx, item)
	case "response.create":
		var opts map[string]any
		if r, ok := ev["response"].(map[string]any); ok {
			opts = r
		}
		return rs.respond(ctx, opts)
	case "conversation.item.retrieve", "conversation.item.delete", "conversation.item.truncate":
		id, _ := ev["item_id"].(string)
		at := rs.itemIndex(id)
		if at < 0 {
			return rs.fail(ctx, ev, "item_not_found", "item_id", "Item with item_id '"+id+"' not found.")
		}
		switch typ {
		case "conversation.item.retrieve":
			return rs.send(ctx, map[string]any{"type": "conversation.item.retrieved", "item": rs.items[at]})
		case "conversation.item.delete":
			rs.items = append(rs.items[:at], rs.items[at+1:]...)
			return rs.send(ctx, map[string]any{"type": "conversation.item.deleted", "item_id": id})
		}
		return rs.send(ctx, map[string]any{"type": "conversation.item.truncated", "item_id": id,
			"content_index": ev["content_index"], "audio_end_ms": ev["audio_end_ms"]})
	case "response.cancel":
		return rs.fail(ctx, ev, "response_cancel_not_active", "", "Cancellation failed: no active response found.")
	}
	return rs.fail(ctx, ev, "invalid_value", "type", "Invalid value: '"+typ+"'. Supported values are: 'session.update', 'input_audio_buffer.append', 'input_audio_buffer.commit', 'input_audio_buffer.clear', 'conversation.item.create', 'conversation.item.retrieve', 'conversation.item.delete', 'conversation.item.truncate', 'response.create' and 'response.cancel'.")
}

// itemIndex is the position of item id in the conversation, -1 if none.
func (rs *rtSession) itemIndex(id string) int {
	for i, it := range rs.items {
		if it["id"] == id {
			return i
		}
	}
	return -1
}

// addItem puts item in the conversation and tells the client.
func (rs *rtSession) addItem(ctx context.Context, item map[string]any) bool {
	if _, ok := item["id"].(string); !ok {
		rs.assignID(item)
	}
	item["object"], item["status"] = "realtime.item", "completed"
	prev := nullable(rs.lastItem)
	rs.items = append(rs.items, item)
	rs.lastItem = item["id"].(string)
	return rs.send(ctx, map[string]any{"type": "conversation.item.added", "previous_item_id": prev, "item": item}) &&
		rs.send(ctx, map[string]any{"type": "conversation.item.done", "previous_item_id": prev, "item": item})
}

func (rs *rtSession) assignID(item map[string]any) {
	rs.ids++
	item["id"] = "item_" + rs.c.s.name + "-" + strconv.FormatInt(rs.c.seq, 10) + "-" + strconv.Itoa(rs.ids)
}

// respond generates a response to the conversation, as events.
func (rs *rtSession) respond(ctx context.Context, opts map[string]any) bool {
	rs.responses++
	modalities := rs.session["output_modalities"]
	if m, ok := opts["output_modalities"]; ok {
		modalities = m
	}
	audio := false
	if list, ok := modalities.([]any); ok {
		for _, m := range list {
			audio = audio || m == "audio"
		}
	}
	limit := 0
	if n, ok := opts["max_output_tokens"].(float64); ok && n > 0 {
		limit = int(n)
	} else if n, ok := rs.session["max_output_tokens"].(float64); ok && n > 0 {
		limit = int(n)
	}
	seed := uint64(rs.c.seq)<<16 + uint64(rs.responses)
	a := newAnswer(seed, limit)
	instructions, _ := rs.session["instructions"].(string)
	if s, ok := opts["instructions"].(string); ok {
		instructions = s
	}
	respID := "resp_" + rs.c.s.name + "-" + strconv.FormatInt(rs.c.seq, 10) + "-" + strconv.Itoa(rs.responses)
	resp := map[string]any{
		"object": "realtime.response", "id": respID, "status": "in_progress", "status_details": nil,
		"output": []any{}, "conversation_id": "conv_" + rs.id, "output_modalities": modalities,
		"max_output_tokens": rs.session["max_output_tokens"], "usage": nil, "metadata": opts["metadata"],
	}
	if !rs.send(ctx, map[string]any{"type": "response.created", "response": resp}) {
		return false
	}
	item := map[string]any{"type": "message", "role": "assistant", "status": "in_progress", "content": []any{}, "object": "realtime.item"}
	rs.assignID(item)
	itemID := item["id"].(string)
	prev := nullable(rs.lastItem)
	part := map[string]any{"type": "text", "text": ""}
	if audio {
		part = map[string]any{"type": "audio", "transcript": ""}
	}
	where := func(m map[string]any) map[string]any {
		m["response_id"], m["item_id"], m["output_index"], m["content_index"] = respID, itemID, 0, 0
		return m
	}
	if !rs.send(ctx, map[string]any{"type": "response.output_item.added", "response_id": respID, "output_index": 0, "item": item}) ||
		!rs.send(ctx, map[string]any{"type": "conversation.item.added", "previous_item_id": prev, "item": item}) ||
		!rs.send(ctx, where(map[string]any{"type": "response.content_part.added", "part": part})) {
		return false
	}
	pace := newPacer(rs.c.tps)
	var text strings.Builder
	deltaType := "response.output_text.delta"
	if audio {
		deltaType = "response.output_audio_transcript.delta"
	}
	chunk := base64.StdEncoding.EncodeToString(make([]byte, realtimeAudioPerToken))
	for i := range a.n {
		if pace.wait(rs.c) != nil {
			return false
		}
		tok, period := a.token(i)
		if period {
			tok += "."
		}
		text.WriteString(tok)
		if audio && !rs.send(ctx, where(map[string]any{"type": "response.output_audio.delta", "delta": chunk})) {
			return false
		}
		if !rs.send(ctx, where(map[string]any{"type": deltaType, "delta": tok})) {
			return false
		}
	}
	if audio {
		part = map[string]any{"type": "audio", "transcript": text.String()}
		if !rs.send(ctx, where(map[string]any{"type": "response.output_audio.done"})) ||
			!rs.send(ctx, where(map[string]any{"type": "response.output_audio_transcript.done", "transcript": text.String()})) {
			return false
		}
	} else {
		part = map[string]any{"type": "text", "text": text.String()}
		if !rs.send(ctx, where(map[string]any{"type": "response.output_text.done", "text": text.String()})) {
			return false
		}
	}
	item["status"], item["content"] = "completed", []any{part}
	if !rs.send(ctx, where(map[string]any{"type": "response.content_part.done", "part": part})) ||
		!rs.send(ctx, map[string]any{"type": "response.output_item.done", "response_id": respID, "output_index": 0, "item": item}) ||
		!rs.send(ctx, map[string]any{"type": "conversation.item.done", "previous_item_id": prev, "item": item}) {
		return false
	}
	if conv, _ := opts["conversation"].(string); conv != "none" {
		rs.items = append(rs.items, item)
		rs.lastItem = itemID
	}

	inText := rs.inputText + approxTokens(instructions)
	in := inText + rs.inputAudio
	cached := min(rs.cached, in)
	outAudio := 0
	if audio {
		outAudio = 2 * a.n
	}
	out := a.n + outAudio
	resp["status"], resp["output"] = "completed", []any{item}
	if a.finish == "length" {
		resp["status"], resp["status_details"] = "incomplete", map[string]any{"type": "incomplete", "reason": "max_output_tokens"}
	}
	resp["usage"] = map[string]any{
		"total_tokens": in + out, "input_tokens": in, "output_tokens": out,
		"input_token_details": map[string]any{
			"text_tokens": inText, "audio_tokens": rs.inputAudio, "image_tokens": 0, "cached_tokens": cached,
			"cached_tokens_details": map[string]any{"text_tokens": min(cached, inText), "audio_tokens": max(0, cached-inText), "image_tokens": 0},
		},
		"output_token_details": map[string]any{"text_tokens": a.n, "audio_tokens": outAudio},
	}
	// What this response read is cached for the next; its answer is
	// input to the next too.
	rs.cached = in
	rs.inputText += a.n
	return rs.send(ctx, map[string]any{"type": "response.done", "response": resp})
}

// fail sends an error event for the client event ev; the session goes on.
func (rs *rtSession) fail(ctx context.Context, ev map[string]any, code, param, msg string) bool {
	var eventID any
	if ev != nil {
		eventID = ev["event_id"]
	}
	return rs.send(ctx, map[string]any{"type": "error", "error": map[string]any{
		"type": "invalid_request_error", "code": code, "message": msg, "param": nullable(param), "event_id": eventID,
	}})
}

// send writes a server event with a fresh event_id. It returns false when
// the connection is gone, or was dropped by a FaultResetMidStream.
func (rs *rtSession) send(ctx context.Context, ev map[string]any) bool {
	if rs.dropped {
		return false
	}
	if rs.c.abortAfter >= 0 && rs.events >= rs.c.abortAfter {
		rs.dropped = true
		rs.conn.CloseNow()
		return false
	}
	rs.events++
	b, err := json.Marshal(realtimeEvent{typ: ev["type"].(string), id: "event_" + rs.c.s.name + "-" + strconv.FormatInt(rs.c.seq, 10) + "-" + strconv.Itoa(rs.events), rest: ev})
	if err != nil {
		return false
	}
	return rs.conn.Write(ctx, websocket.MessageText, b) == nil
}

// realtimeEvent marshals an event with "type" and "event_id" first, as
// OpenAI does, and the other fields after.
type realtimeEvent struct {
	typ, id string
	rest    map[string]any
}

func (e realtimeEvent) MarshalJSON() ([]byte, error) {
	b := append([]byte(nil), `{"type":`...)
	b = strconv.AppendQuote(b, e.typ)
	b = append(b, `,"event_id":`...)
	b = strconv.AppendQuote(b, e.id)
	delete(e.rest, "type")
	rest, err := json.Marshal(e.rest)
	if err != nil {
		return nil, err
	}
	if len(rest) > 2 {
		b = append(b, ',')
		b = append(b, rest[1:len(rest)-1]...)
	}
	return append(b, '}'), nil
}

// itemTokens counts the text of a conversation item the mock's way.
func itemTokens(item map[string]any) int {
	n := 0
	content, _ := item["content"].([]any)
	for _, c := range content {
		part, _ := c.(map[string]any)
		for _, k := range []string{"text", "transcript"} {
			if s, ok := part[k].(string); ok {
				n += approxTokens(s)
			}
		}
	}
	for _, k := range []string{"arguments", "output"} {
		if s, ok := item[k].(string); ok {
			n += approxTokens(s)
		}
	}
	return n
}

// nullable is s, or JSON null when empty.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
