// Package mock is Spillway's simulated upstream: an http.Handler that
// answers like OpenAI, Azure OpenAI and Azure AI Search, fast and
// deterministically, and that fails on demand. It backs `spillway mock`,
// the deployments of `spillway demo`, the gateway's tests, benchmarks
// (as the zero-overhead baseline) and chaos runs.
//
// # Routes
//
// OpenAI shape, model in the body:
//
//	POST /v1/chat/completions, /v1/completions, /v1/embeddings, /v1/images/generations
//	GET  /v1/models
//
// Azure OpenAI shape; the deployment is the model in answers and the
// api-version query parameter is required (400 MissingApiVersionParameter
// without it):
//
//	POST /openai/deployments/{deployment}/chat/completions (also .../extensions/chat/completions)
//	POST /openai/deployments/{deployment}/completions, .../embeddings, .../images/generations
//
// Azure OpenAI v1 shape, model in the body: the OpenAI routes under
// /openai/v1/. Azure AI Search:
//
//	POST /indexes/{index}/docs/search
//	POST /indexes('{index}')/docs/search.post.search
//	GET  /indexes/{index}/docs?search=...&$top=N
//
// Azure DALL-E 2 jobs (api-version required), kept in memory: the poll
// says "running" once, then "succeeded" with picture URLs; a job another
// server took is 404 NotFound, as on Azure:
//
//	POST /openai/images/generations:submit  → 202 + operation-location
//	GET  /openai/operations/images/{id}
//
// Image answers link to GET /mock/images/{RRGGBB}.png, served here too.
// Any other path gets OpenAI's 404 "Invalid URL" error.
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
//	           counts) or half of a non-streaming body, then reset.
//	slow       stream at tps=N tokens per second (default 2); also delays
//	           non-streaming chat and completions answers by tokens/N.
//
// For example: 429:0.2:retry-after=5  503:0.05  reset-mid-stream:0.1:after=5
// slow:0.5:tps=10.
//
// Options.Latency is added before the answer's headers, faults included.
// The Server's dice are seeded with Options.Seed, so a fixed seed and the
// same sequence of requests give the same faults.
package mock
