// Package usage accounts for what every request used: the usage record the
// gateway leaves for each request, the asynchronous batched writer that
// stores records without ever blocking a request, the built-in price table
// that turns tokens into cost, and the token estimator used when an
// upstream reports no usage.
package usage

import "time"

// Record is one request's usage, success or failure.
type Record struct {
	Time      time.Time // when the request arrived, UTC
	RequestID string
	KeyID     string // the client key's id, never the key
	EventID   string // the event of an attendee key, else ""
	Attendee  string // the attendee's identity, else ""
	TeamID    string // the team the key belongs to, else ""
	// BatchID is the batch job a record was read from (its usage arrives
	// when the batch completes), else "".
	BatchID string
	Model   string // the public model asked for
	// Deployment is the id of the deployment that answered, "" when none did.
	Deployment string
	// Endpoint is the operation: chat, completions, embeddings, images.
	Endpoint string
	Status   int // the status the client got; 499 when it left first
	Attempts int // upstream attempts
	Stream   bool
	Latency  time.Duration // until the last byte
	TTFB     time.Duration // until the first byte
	// Token counts; Estimated is true when the upstream reported none and
	// the gateway counted them itself.
	PromptTokens     int
	CompletionTokens int
	TotalTokens      int
	// CachedTokens is the part of PromptTokens served from the prompt
	// cache (priced lower); ReasoningTokens the part of CompletionTokens a
	// reasoning model spent thinking.
	CachedTokens    int
	ReasoningTokens int
	// AudioSeconds is the audio an upstream reports in seconds instead of
	// tokens (whisper transcriptions).
	AudioSeconds float64
	Estimated    bool
	Cost         float64 // USD, from the price table
	User         string  // the request's "user" field, if any
	// Prompt and Response are set only when prompt logging applies to the
	// request (off by default): the request body and the answer's text, each
	// capped at MaxPayloadBytes. Never headers, so never credentials.
	Prompt   string
	Response string
}

// MaxPayloadBytes caps each of Prompt and Response.
const MaxPayloadBytes = 1 << 20
