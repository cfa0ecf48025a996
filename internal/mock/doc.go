// Package mock is Spillway's simulated upstream: an http.Handler that
// answers like OpenAI, Azure OpenAI, Azure AI Inference and Azure AI
// Search, across the whole API surface clients use, fast and
// deterministically, and that fails on demand. It backs `spillway mock`,
// the deployments of `spillway demo`, the gateway's tests, benchmarks
// (as the zero-overhead baseline) and chaos runs.
//
// # Routes
//
// Every operation is one row of the table in route.go. OpenAI shape,
// model in the body (or the form):
//
//	POST   /v1/chat/completions, /v1/completions, /v1/embeddings
//	POST   /v1/responses, /v1/responses/input_tokens
//	GET    /v1/responses/{id} (?stream=true&starting_after=N replays the events)
//	DELETE /v1/responses/{id}
//	POST   /v1/responses/{id}/cancel
//	GET    /v1/responses/{id}/input_items (?limit, order, after)
//	POST   /v1/audio/transcriptions, /v1/audio/translations (multipart), /v1/audio/speech
//	POST   /v1/images/generations, /v1/images/edits, /v1/images/variations (multipart)
//	POST   /v1/moderations
//	GET    /v1/models, /v1/models/{id}
//	GET    /v1/realtime?model=M (a WebSocket; see realtime.go)
//
// Azure OpenAI v1 shape, the same routes under /openai/v1/. Azure
// deployment shape; the deployment is the model in answers and the
// api-version query parameter is required (400 MissingApiVersionParameter
// without it):
//
//	POST /openai/deployments/{deployment}/chat/completions (also .../extensions/chat/completions)
//	POST /openai/deployments/{deployment}/completions, .../embeddings, .../responses,
//	     .../responses/input_tokens, .../audio/transcriptions, .../audio/translations,
//	     .../audio/speech, .../images/generations, .../images/edits,
//	     .../images/variations, .../moderations
//
// Azure api-version shape (where the official SDK's azure package sends
// what it does not route to a deployment), model in the body, api-version
// required:
//
//	POST /openai/responses, /openai/responses/input_tokens, /openai/moderations,
//	     /openai/images/edits, /openai/images/variations
//	GET  /openai/realtime?deployment=D (a WebSocket)
//	GET  /openai/responses/{id}, /openai/responses/{id}/input_items
//	DELETE /openai/responses/{id}; POST /openai/responses/{id}/cancel
//	GET  /openai/models, /openai/models/{id} (Azure's model objects:
//	     status, capabilities, lifecycle_status, created_at)
//
// Azure DALL-E 2 jobs: the poll says "running" once, then "succeeded"
// with picture URLs:
//
//	POST /openai/images/generations:submit  → 202 + operation-location
//	GET  /openai/operations/images/{id}
//
// Azure AI Inference, model in the body or the azureml-model-deployment
// header; body parameters it does not know get its 400 ("Extra parameters
// [...] are not allowed") unless the extra-parameters header is drop or
// pass-through:
//
//	POST /models/chat/completions, /models/embeddings
//
// Azure AI Search:
//
//	POST /indexes/{index}/docs/search
//	POST /indexes('{index}')/docs/search.post.search
//	GET  /indexes/{index}/docs?search=...&$top=N
//
// Image answers link to GET /mock/images/{RRGGBB}.png, served here too.
// Any other path gets OpenAI's 404 "Invalid URL" error; a known path with
// the wrong method gets 405 and an Allow header.
//
// # Objects kept per server
//
// Stored responses (store defaults to true) and DALL-E 2 jobs live in the
// memory of the server that made them, bounded in number and age. Another
// server, even one of the same name, does not know them: a GET, DELETE,
// cancel or input_items there is OpenAI's 404 ("Response with id '...' not
// found."), a previous_response_id there is OpenAI's 400
// previous_response_not_found, and a job poll is Azure's 404 NotFound. That
// is what lets tests see that a gateway sends follow-ups back to the
// upstream that made the object.
//
// # Answers
//
// Answers are lorem-ipsum words chosen by a hash of the prompt, one word
// per token: the same prompt always gets the same answer. An answer has
// DefaultAnswerTokens tokens, fewer (with finish_reason "length") when
// max_tokens or max_completion_tokens is lower. Prompt tokens are counted
// roughly, four characters to a token. Streams ("stream": true) send one
// chat.completion.chunk per token, paced by Options.TokensPerSecond, then
// the finish_reason chunk, the usage chunk when stream_options.include_usage
// is set, and "data: [DONE]", as OpenAI does. Embeddings are unit vectors
// derived from the input (equal texts, equal vectors), DefaultDimensions
// long unless "dimensions" says otherwise, as floats or, for
// "encoding_format":"base64", as base64 little-endian float32.
//
// The Responses API answers the same words, and:
//
//   - a function_call output item (call_id, JSON arguments generated from
//     the tool's parameters schema) instead of text when function tools are
//     offered and tool_choice is "required" or names one, or when the last
//     input item is a user message that mentions "weather" or a tool's
//     name; tool_choice "none" never calls. After a function_call_output
//     the answer is text again.
//   - valid JSON text for text.format json_object, or json_schema (built
//     from the schema, properties in name order).
//   - a reasoning output item first, and usage reasoning_tokens (64 for
//     the default medium effort, 8 to 1024 from minimal to max), for models
//     named o1, o3, o4-mini... (o and a digit) or gpt-5*; a summary when
//     reasoning.summary is set.
//   - status "incomplete", incomplete_details.reason "max_output_tokens",
//     when max_output_tokens (at least 16, as OpenAI requires) leaves too
//     few tokens after reasoning; reasoning can use them all.
//   - background: true answers status "queued"; each later GET moves it
//     on: "in_progress", then "completed". Cancel works on background
//     responses only (400 "Cannot cancel a synchronous response." else).
//   - previous_response_id (this server's) adds the earlier turns to
//     input_tokens and reports them as input_tokens_details.cached_tokens.
//   - stream: true sends event:/data: pairs with type and sequence_number:
//     response.created, response.in_progress, then per output item
//     response.output_item.added, its content events and deltas
//     (output_text, function_call_arguments, reasoning_summary_text) and
//     response.output_item.done, and last response.completed (or
//     response.incomplete) with the whole response and usage. No [DONE].
//
// Transcriptions hear a file as size/16000 seconds (128 kbit/s) of about
// 2.5 words a second; *-transcribe models bill tokens and stream
// transcript.text.delta/done with stream=true, whisper bills seconds and
// offers text, srt, vtt and verbose_json. Speech lasts about a second per
// 15 characters over speed, streamed in 4 KiB chunks; wav and pcm (24 kHz
// 16-bit mono) and mp3 (silent frames) decode, opus, aac and flac are
// their magic bytes and filler. Moderations flag on words ("kill" is
// violence). Image edits and variations answer like generations.
//
// # Faults
//
// A fault spec, as given to ParseFault and to `spillway mock --fail`, is
//
//	KIND[:PROBABILITY][:KEY=VALUE,...]
//
// PROBABILITY is the chance in (0,1] that the fault hits a request (default
// 1). Faults are checked in order; the first one that hits decides,
// except slow, which only sets the pace and lets the check go on. KIND is
// one of:
//
//	429        Azure's rate-limit body. Keys: retry-after=SECONDS,
//	           retry-after-ms=MILLISECONDS (sent as headers; any status
//	           accepts them, e.g. 503:retry-after=2).
//	4xx        a real body for the status: 400 Azure content filter (or
//	           code=context_length_exceeded for OpenAI's context error),
//	           401 Azure's invalid-key body, 403 Azure's firewall body,
//	           404 Azure's DeploymentNotFound, others a generic error.
//	5xx        OpenAI's server_error body.
//	hang       never answer; ends when the client goes away.
//	reset      reset the TCP connection (RST) before any response byte.
//	reset-mid-stream
//	           send after=N events of a stream (default 3; the role chunk
//	           counts, and so does every Responses event and every speech
//	           chunk) or half of a non-streaming body, then reset.
//	slow       stream at tps=N tokens per second (default 2); also delays
//	           non-streaming chat, completions, responses and transcriptions
//	           by tokens/N, and paces speech chunks.
//
// For example: 429:0.2:retry-after=5  503:0.05  reset-mid-stream:0.1:after=5
// slow:0.5:tps=10.
//
// Options.Latency is added before the answer's headers, faults included.
// The Server's dice are seeded with Options.Seed, so a fixed seed and the
// same sequence of requests give the same faults.
package mock
