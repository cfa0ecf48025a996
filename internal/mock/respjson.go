package mock

import "strconv"

// Rendering of response objects and their items, by hand like every
// other answer (see jsonw.go). Keys follow the order OpenAI sends them in.

// appendResponse appends st as a response object with the given status.
// Until a response is done (queued, in progress, cancelled) it shows no
// output and no usage.
func appendResponse(b []byte, st *respState, status string) []byte {
	done := status == statusCompleted || status == statusIncomplete
	e := &st.echo
	b = append(b, '{')
	b = appendKV(b, "id", st.id)
	b = append(b, `,"object":"response",`...)
	b = appendKInt(b, "created_at", st.createdAt)
	b = append(b, ',')
	b = appendKV(b, "status", status)
	b = append(b, `,"background":`...)
	b = strconv.AppendBool(b, st.background)
	b = append(b, `,"completed_at":`...)
	if status == statusCompleted {
		b = strconv.AppendInt(b, st.createdAt+1, 10)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"error":null,"incomplete_details":`...)
	if status == statusIncomplete {
		b = append(b, `{"reason":"max_output_tokens"}`...)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"instructions":`...)
	b = append(b, e.instructions...)
	b = append(b, `,"max_output_tokens":`...)
	b = appendIntOrNull(b, e.maxOutputTokens)
	b = append(b, `,"max_tool_calls":null,`...)
	b = appendKV(b, "model", st.model)
	b = append(b, `,"output":[`...)
	if done {
		for i := range st.output {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendItem(b, &st.output[i], true)
		}
	}
	b = append(b, `],"parallel_tool_calls":`...)
	b = strconv.AppendBool(b, e.parallelToolCalls)
	b = append(b, `,"previous_response_id":`...)
	b = appendNullable(b, st.previousID)
	b = append(b, `,"prompt_cache_key":null,"reasoning":{"effort":`...)
	b = appendNullable(b, e.effort)
	b = append(b, `,"summary":`...)
	b = appendNullable(b, e.summary)
	b = append(b, `},"safety_identifier":null,"service_tier":"default","store":`...)
	b = strconv.AppendBool(b, st.store)
	b = append(b, `,"temperature":`...)
	b = strconv.AppendFloat(b, e.temperature, 'f', -1, 64)
	b = append(b, `,"text":`...)
	b = append(b, e.text...)
	b = append(b, `,"tool_choice":`...)
	b = append(b, e.toolChoice...)
	b = append(b, `,"tools":`...)
	b = append(b, e.tools...)
	b = append(b, `,"top_logprobs":0,"top_p":`...)
	b = strconv.AppendFloat(b, e.topP, 'f', -1, 64)
	b = append(b, `,"truncation":"disabled","usage":`...)
	if done {
		b = appendRespUsage(b, st.usage)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"user":`...)
	b = appendNullable(b, e.user)
	b = append(b, `,"metadata":`...)
	b = append(b, e.metadata...)
	return append(b, '}')
}

func appendIntOrNull(b []byte, n int) []byte {
	if n == 0 {
		return append(b, "null"...)
	}
	return strconv.AppendInt(b, int64(n), 10)
}

func appendRespUsage(b []byte, u respUsage) []byte {
	b = append(b, '{')
	b = appendKInt(b, "input_tokens", int64(u.input))
	b = append(b, `,"input_tokens_details":{`...)
	b = appendKInt(b, "cached_tokens", int64(u.cached))
	b = append(b, `,"cache_write_tokens":0},`...)
	b = appendKInt(b, "output_tokens", int64(u.output))
	b = append(b, `,"output_tokens_details":{`...)
	b = appendKInt(b, "reasoning_tokens", int64(u.reasoning))
	b = append(b, "},"...)
	b = appendKInt(b, "total_tokens", int64(u.input+u.output))
	return append(b, '}')
}

// appendItem appends an output item: done, as in the response; not done,
// as a stream announces it, before its content.
func appendItem(b []byte, it *outItem, done bool) []byte {
	b = append(b, '{')
	b = appendKV(b, "id", it.id)
	switch it.kind {
	case itemReasoning:
		b = append(b, `,"type":"reasoning","summary":[`...)
		if done && it.text != "" {
			b = appendSummaryPart(b, it.text)
		}
		b = append(b, ']')
		if it.encrypted != "" {
			b = append(b, ',')
			b = appendKV(b, "encrypted_content", it.encrypted)
		}
	case itemFunctionCall:
		b = append(b, `,"type":"function_call","status":`...)
		b = appendString(b, itemStatus(it, done))
		b = append(b, `,"arguments":`...)
		if done {
			b = appendString(b, it.text)
		} else {
			b = append(b, `""`...)
		}
		b = append(b, ',')
		b = appendKV(b, "call_id", it.callID)
		b = append(b, ',')
		b = appendKV(b, "name", it.name)
	default:
		b = append(b, `,"type":"message","status":`...)
		b = appendString(b, itemStatus(it, done))
		b = append(b, `,"content":[`...)
		if done {
			b = appendTextPart(b, it.text)
		}
		b = append(b, `],"role":"assistant"`...)
	}
	return append(b, '}')
}

func itemStatus(it *outItem, done bool) string {
	if !done {
		return statusInProgress
	}
	return it.status
}

// appendTextPart appends an output_text content part.
func appendTextPart(b []byte, text string) []byte {
	b = append(b, `{"type":"output_text","annotations":[],"logprobs":[],`...)
	b = appendKV(b, "text", text)
	return append(b, '}')
}

// appendSummaryPart appends a reasoning summary part.
func appendSummaryPart(b []byte, text string) []byte {
	b = append(b, `{"type":"summary_text",`...)
	b = appendKV(b, "text", text)
	return append(b, '}')
}

// appendInputItem appends an input item as input_items lists it.
func appendInputItem(b []byte, it *respItem) []byte {
	switch it.kind {
	case "message":
		b = append(b, '{')
		b = appendKV(b, "id", it.id)
		b = append(b, `,"type":"message","role":`...)
		b = appendString(b, it.role)
		b = append(b, `,"status":"completed","content":`...)
		switch {
		case it.content != nil:
			b = append(b, it.content...)
		case it.role == "assistant":
			b = append(b, '[')
			b = appendTextPart(b, it.text)
			b = append(b, ']')
		default:
			b = append(b, `[{"type":"input_text",`...)
			b = appendKV(b, "text", it.text)
			b = append(b, "}]"...)
		}
		return append(b, '}')
	case "function_call_output":
		b = append(b, '{')
		b = appendKV(b, "id", it.id)
		b = append(b, `,"type":"function_call_output",`...)
		b = appendKV(b, "call_id", it.callID)
		b = append(b, `,"output":`...)
		b = append(b, it.raw...)
		return append(b, `,"status":"completed"}`...)
	case "function_call":
		b = append(b, '{')
		b = appendKV(b, "id", it.id)
		b = append(b, `,"type":"function_call","status":"completed",`...)
		b = appendKV(b, "arguments", it.text)
		b = append(b, ',')
		b = appendKV(b, "call_id", it.callID)
		b = append(b, ',')
		b = appendKV(b, "name", it.name)
		return append(b, '}')
	}
	return append(b, it.raw...)
}
