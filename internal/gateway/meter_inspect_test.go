package gateway

import (
	"testing"
)

// inspectEvents are the server-sent events a stream's meter reads, as the
// upstreams send them.
var inspectEvents = []struct{ name, ev string }{
	{"chat", "data: {\"id\":\"chatcmpl-mock-1\",\"object\":\"chat.completion.chunk\",\"created\":1796574518,\"model\":\"gpt-4o\",\"system_fingerprint\":\"fp_mock\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" exercitation\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n"},
	{"chat-role", "data: {\"id\":\"chatcmpl-mock-1\",\"object\":\"chat.completion.chunk\",\"created\":1796574518,\"model\":\"gpt-4o\",\"system_fingerprint\":\"fp_mock\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null},\"logprobs\":null,\"finish_reason\":null}]}\n\n"},
	{"chat-usage", "data: {\"id\":\"chatcmpl-mock-1\",\"object\":\"chat.completion.chunk\",\"created\":1796574518,\"model\":\"gpt-4o\",\"system_fingerprint\":\"fp_mock\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":16,\"total_tokens\":25,\"prompt_tokens_details\":{\"cached_tokens\":0,\"audio_tokens\":0},\"completion_tokens_details\":{\"reasoning_tokens\":0,\"audio_tokens\":0,\"accepted_prediction_tokens\":0,\"rejected_prediction_tokens\":0}}}\n\n"},
	{"chat-usage-null", "data: {\"id\":\"chatcmpl-mock-1\",\"object\":\"chat.completion.chunk\",\"created\":1796574518,\"model\":\"gpt-4o\",\"system_fingerprint\":\"fp_mock\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" exercitation\"},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n"},
	{"responses-delta", "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"sequence_number\":7,\"item_id\":\"msg_mock_1\",\"output_index\":0,\"content_index\":0,\"delta\":\" exercitation\",\"logprobs\":[]}\n\n"},
	{"responses-done", "event: response.output_text.done\ndata: {\"type\":\"response.output_text.done\",\"sequence_number\":22,\"item_id\":\"msg_mock_1\",\"output_index\":0,\"content_index\":0,\"text\":\"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation\",\"logprobs\":[]}\n\n"},
	{"completions", "data: {\"id\":\"cmpl-mock-1\",\"object\":\"text_completion\",\"created\":1796574518,\"model\":\"gpt-35-turbo-instruct\",\"choices\":[{\"text\":\" exercitation\",\"index\":0,\"logprobs\":null,\"finish_reason\":null}]}\n\n"},
}

// BenchmarkInspect is the meter's work on one event of a stream; a
// 16-token chat answer is about 19 of them.
func BenchmarkInspect(b *testing.B) {
	for _, e := range inspectEvents {
		b.Run(e.name, func(b *testing.B) {
			ev := []byte(e.ev)
			m := meter{stream: true, strip: true, text: make([]byte, 0, 1024)}
			b.ReportAllocs()
			for b.Loop() {
				m.text = m.text[:0]
				m.inspect(ev)
			}
		})
	}
}
