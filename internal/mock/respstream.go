package mock

import (
	"net/http"
	"strconv"
)

// streamResponse sends st as the Responses API's server-sent events, each
// with an event: line and a data: object carrying its type and
// sequence_number: response.created, response.in_progress, then for each
// output item its added event, its content events and deltas, its done
// event, and last response.completed (or response.incomplete) with the
// whole response. There is no [DONE]. Deltas are paced like chat tokens,
// and a reset-mid-stream fault counts these events. Events numbered up to
// startingAfter are skipped, for GET ?stream=true&starting_after=N; -1
// sends them all.
func (c *call) streamResponse(st *respState, startingAfter int) {
	h := c.w.Header()
	h["Content-Type"] = sseContentType
	h["Cache-Control"] = noCache
	c.w.WriteHeader(http.StatusOK)

	bp := getBuf()
	defer putBuf(bp)
	ew := eventWriter{
		sw:   sseWriter{c: c, rc: http.NewResponseController(c.w), buf: bp},
		skip: startingAfter,
		pace: newPacer(c.tps),
	}
	if c.abortAfter == 0 {
		_ = ew.sw.rc.Flush()
		abort(c.w, true)
		return
	}
	start := statusInProgress
	if st.background {
		start = statusQueued
	}
	if !ew.response("response.created", st, start) || !ew.response("response.in_progress", st, statusInProgress) {
		return
	}
	for k := range st.output {
		if !ew.item(&st.output[k], k) {
			return
		}
	}
	terminal := "response.completed"
	if st.final == statusIncomplete {
		terminal = "response.incomplete"
	}
	if !ew.response(terminal, st, st.final) {
		return
	}
	if c.abortAfter > 0 {
		// The stream was shorter than the fault's budget: break it rather
		// than end it cleanly.
		abort(c.w, true)
	}
}

// eventWriter numbers and sends the events of one Responses stream.
type eventWriter struct {
	sw   sseWriter
	seq  int
	skip int
	pace pacer
}

// begin starts an event of type typ in the buffer; callers append its
// other fields, each with a leading comma, and pass the bytes to end.
func (ew *eventWriter) begin(typ string) []byte {
	b := append((*ew.sw.buf)[:0], "event: "...)
	b = append(b, typ...)
	b = append(b, "\ndata: {\"type\":\""...)
	b = append(b, typ...)
	b = append(b, `","sequence_number":`...)
	return strconv.AppendInt(b, int64(ew.seq), 10)
}

// end finishes the event and sends it. It returns false when the stream
// must stop.
func (ew *eventWriter) end(b []byte) bool {
	b = append(b, "}\n\n"...)
	*ew.sw.buf = b
	seq := ew.seq
	ew.seq++
	if seq <= ew.skip {
		return true
	}
	return ew.sw.write(b)
}

// wait paces a delta; it returns false when the stream must stop.
func (ew *eventWriter) wait() bool {
	return ew.seq <= ew.skip || ew.sw.wait(&ew.pace)
}

func (ew *eventWriter) response(typ string, st *respState, status string) bool {
	b := ew.begin(typ)
	b = append(b, `,"response":`...)
	return ew.end(appendResponse(b, st, status))
}

// ref appends the fields that place an event in the output.
func ref(b []byte, it *outItem, k int) []byte {
	b = append(b, ',')
	b = appendKV(b, "item_id", it.id)
	b = append(b, ',')
	return appendKInt(b, "output_index", int64(k))
}

// item sends the events of output item k.
func (ew *eventWriter) item(it *outItem, k int) bool {
	b := ew.begin("response.output_item.added")
	b = append(b, ',')
	b = appendKInt(b, "output_index", int64(k))
	b = append(b, `,"item":`...)
	if !ew.end(appendItem(b, it, false)) {
		return false
	}
	var ok bool
	switch it.kind {
	case itemMessage:
		ok = ew.message(it, k)
	case itemFunctionCall:
		ok = ew.deltas(it, k, "response.function_call_arguments.delta", "") && ew.argumentsDone(it, k)
	case itemReasoning:
		ok = it.text == "" || ew.summary(it, k)
	}
	if !ok {
		return false
	}
	b = ew.begin("response.output_item.done")
	b = append(b, ',')
	b = appendKInt(b, "output_index", int64(k))
	b = append(b, `,"item":`...)
	return ew.end(appendItem(b, it, true))
}

// deltas sends it.deltas as events of type typ; extra (such as
// `,"content_index":0`) follows the reference.
func (ew *eventWriter) deltas(it *outItem, k int, typ, extra string) bool {
	for _, d := range it.deltas {
		if !ew.wait() {
			return false
		}
		b := ew.begin(typ)
		b = ref(b, it, k)
		b = append(b, extra...)
		b = append(b, `,"delta":`...)
		b = appendString(b, d)
		if typ == "response.output_text.delta" {
			b = append(b, `,"logprobs":[]`...)
		}
		if !ew.end(b) {
			return false
		}
	}
	return true
}

func (ew *eventWriter) message(it *outItem, k int) bool {
	const at = `,"content_index":0`
	b := ew.begin("response.content_part.added")
	b = append(ref(b, it, k), at+`,"part":`...)
	if !ew.end(appendTextPart(b, "")) || !ew.deltas(it, k, "response.output_text.delta", at) {
		return false
	}
	b = ew.begin("response.output_text.done")
	b = append(ref(b, it, k), at+`,"logprobs":[],`...)
	if !ew.end(appendKV(b, "text", it.text)) {
		return false
	}
	b = ew.begin("response.content_part.done")
	b = append(ref(b, it, k), at+`,"part":`...)
	return ew.end(appendTextPart(b, it.text))
}

func (ew *eventWriter) argumentsDone(it *outItem, k int) bool {
	b := ew.begin("response.function_call_arguments.done")
	b = append(ref(b, it, k), ',')
	b = appendKV(b, "name", it.name)
	b = append(b, ',')
	return ew.end(appendKV(b, "arguments", it.text))
}

func (ew *eventWriter) summary(it *outItem, k int) bool {
	const at = `,"summary_index":0`
	b := ew.begin("response.reasoning_summary_part.added")
	b = append(ref(b, it, k), at+`,"part":`...)
	if !ew.end(appendSummaryPart(b, "")) || !ew.deltas(it, k, "response.reasoning_summary_text.delta", at) {
		return false
	}
	b = ew.begin("response.reasoning_summary_text.done")
	b = append(ref(b, it, k), at+","...)
	if !ew.end(appendKV(b, "text", it.text)) {
		return false
	}
	b = ew.begin("response.reasoning_summary_part.done")
	b = append(ref(b, it, k), at+`,"part":`...)
	return ew.end(appendSummaryPart(b, it.text))
}
