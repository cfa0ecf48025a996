package router

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spillwayhq/spillway/internal/provider"
)

// This file is the one place that decides what an upstream outcome means for
// routing: the attempt loop asks ClassifyResponse or ClassifyError and acts on
// the Verdict, never on status codes or error strings of its own.

// Verdict says what an upstream attempt's outcome means for routing.
type Verdict uint8

const (
	// Success is a 2xx: return it to the client.
	Success Verdict = iota
	// CallerError is the caller's fault (400, 404 of a missing file, 413,
	// 422, content filter...): return it as-is, never retry, and do not
	// penalise the deployment.
	CallerError
	// RateLimited is a 429 throttle: cool the deployment down for
	// Outcome.Cooldown (the configured default when 0) and try the next.
	RateLimited
	// TooLarge is a 429 "Request too large ... tokens per min": the request
	// exceeds this deployment's whole TPM budget, so waiting never helps.
	// Try the next deployment WITHOUT cooling this one down.
	TooLarge
	// QuotaExhausted is a 429 insufficient_quota (billing): cool the
	// deployment down for a long time (QuotaCooldown unless the upstream
	// says otherwise) and try the next.
	QuotaExhausted
	// AuthFailed is an upstream 401/403: the deployment's key or network
	// configuration is wrong. Cool it down (the configured default), count a
	// failure, try the next.
	AuthFailed
	// DeploymentGone is an upstream 404 for a missing deployment or model, or
	// a redirect: the deployment is misconfigured. Cool it down for
	// MisconfiguredCooldown and try the next.
	DeploymentGone
	// ContextTooLong is a 400 context_length_exceeded: return it as-is unless
	// the model has a context-window fallback. Other deployments of the same
	// model have the same window, so it is not Retryable.
	ContextTooLong
	// Transient is a 5xx, 408, 409, transport error or timeout: count a
	// failure and try the next deployment.
	Transient
	// ClientGone means the client cancelled: stop, no penalty for the
	// deployment (recorded as 499).
	ClientGone
	// Unsupported means the deployment's upstream does not serve the
	// operation at all (a DALL-E 2 job on an OpenAI deployment): try the
	// next, no penalty.
	Unsupported
)

// String returns a short, stable, lower-case name for logs and the admin API.
func (v Verdict) String() string {
	switch v {
	case Success:
		return "success"
	case CallerError:
		return "caller-error"
	case RateLimited:
		return "rate-limited"
	case TooLarge:
		return "too-large"
	case QuotaExhausted:
		return "quota-exhausted"
	case AuthFailed:
		return "auth-failed"
	case DeploymentGone:
		return "deployment-gone"
	case ContextTooLong:
		return "context-too-long"
	case Transient:
		return "transient"
	case ClientGone:
		return "client-gone"
	case Unsupported:
		return "unsupported"
	}
	return "Verdict(" + strconv.Itoa(int(v)) + ")"
}

// Retryable reports whether another deployment should be tried.
// ContextTooLong is not: the model's context-window fallback (another model)
// is the attempt loop's decision, not another deployment of the same model.
func (v Verdict) Retryable() bool {
	switch v {
	case RateLimited, TooLarge, QuotaExhausted, AuthFailed, DeploymentGone, Transient, Unsupported:
		return true
	}
	return false
}

const (
	// QuotaCooldown is how long a deployment whose billing quota is exhausted
	// (429 insufficient_quota) is skipped when the upstream gives no explicit
	// Retry-After: someone has to top up the account, which takes a while.
	QuotaCooldown = 1 * time.Hour
	// MisconfiguredCooldown is how long a deployment that answered
	// DeploymentNotFound (or an equivalent) is skipped. Azure says a
	// deployment created within the last 5 minutes may not be visible yet.
	MisconfiguredCooldown = 5 * time.Minute
)

// Outcome is the classifier's answer.
type Outcome struct {
	Verdict Verdict
	// Cooldown is, for RateLimited, QuotaExhausted, AuthFailed and
	// DeploymentGone, how long to skip the deployment; 0 means the configured
	// default. It is never negative nor above MaxRetryAfter, and always 0 for
	// the other verdicts.
	Cooldown time.Duration
	// Reason is short, human and safe for logs and /admin/v1/routing
	// (e.g. "429 retry-after 6s", "upstream 401: invalid key",
	// "connection refused"). It is built from the status, the error code and
	// fixed phrases only: never from upstream messages (OpenAI echoes part of
	// a bad key in its 401 message), URLs or the request body.
	Reason string
	// Code is the upstream error.code when present (e.g. "content_filter",
	// "rate_limit_exceeded", "DeploymentNotFound", "429"), falling back to
	// Azure's innererror.code. Codes that are not short identifiers are
	// dropped.
	Code string
}

// classifyMaxBody bounds how much of an error body is looked at. Callers pass
// at most a few KiB; a longer body is cut here, and a cut JSON body is then
// searched as text.
const classifyMaxBody = 8 << 10

// ClassifyResponse classifies an upstream HTTP response. body is at most the
// first few KiB of an error body (nil for 2xx: never read a success body).
// now is only used for a date-form Retry-After.
//
// Status rules:
//   - 2xx: Success.
//   - 3xx: DeploymentGone. An API endpoint that redirects (http→https, a
//     moved resource) means the deployment's api base is wrong.
//   - 400: ContextTooLong for code context_length_exceeded or a "maximum
//     context length" message, else CallerError (content filter included).
//   - 401, 403: AuthFailed (Cooldown 0: the configured default), except
//     Azure's "Out of call volume quota", which is QuotaExhausted.
//   - 404: DeploymentGone (MisconfiguredCooldown) when the JSON error says a
//     deployment, model or resource is missing (DeploymentNotFound,
//     model_not_found, Azure's "Resource not found", "... deployment ...
//     does not exist", AI Search's "The index ... was not found") and when the body is not a JSON error at all (a
//     reverse proxy that does not know the path: our api base is wrong).
//     Any other JSON 404 (a missing file, batch, ...) is CallerError.
//   - 408, 409: Transient.
//   - 429: QuotaExhausted for insufficient_quota, TooLarge for "Request too
//     large", else RateLimited, with Cooldown from the headers or the
//     message (see RetryAfter).
//   - other 4xx: CallerError.
//   - 1xx, 5xx, and anything outside 100-599: Transient.
//
// Bodies that are not JSON (HTML from a load balancer, empty) classify by
// status; only the retry hint and a few unambiguous markers are searched in
// their text.
func ClassifyResponse(status int, h http.Header, body []byte, now time.Time) Outcome {
	switch {
	case status >= 200 && status <= 299:
		return Outcome{Verdict: Success, Reason: classifyStatusReason(status, "")}
	case status >= 300 && status <= 399:
		return Outcome{
			Verdict:  DeploymentGone,
			Cooldown: MisconfiguredCooldown,
			Reason:   classifyStatusReason(status, "redirect, check the api base"),
		}
	case status < 100 || status > 599:
		return Outcome{Verdict: Transient, Reason: "upstream sent invalid status " + strconv.Itoa(status)}
	case status >= 500 || status < 200:
		e := classifyParseBody(body)
		return Outcome{Verdict: Transient, Reason: classifyStatusReason(status, e.label()), Code: e.code}
	}

	// 4xx from here on.
	e := classifyParseBody(body)
	switch status {
	case http.StatusTooManyRequests:
		return classify429(h, e, now)
	case http.StatusUnauthorized, http.StatusForbidden:
		if classifyContainsFold(e.message, "out of call volume quota") {
			// Azure AI services: "Out of call volume quota for ... Please
			// retry after 17 days." Billing, not a wrong key.
			d, ok := retryAfterExplicit(h, now)
			if !ok {
				d, ok = retryAfterFromMessage(e.message)
			}
			if !ok {
				d = QuotaCooldown
			}
			return Outcome{Verdict: QuotaExhausted, Cooldown: d, Reason: classifyStatusReason(status, "quota exhausted, retry-after "+d.String()), Code: e.code}
		}
		detail := e.label()
		if detail == "" || detail == strconv.Itoa(status) {
			if status == http.StatusUnauthorized {
				detail = "invalid key"
			} else {
				detail = "forbidden"
			}
		}
		return Outcome{Verdict: AuthFailed, Reason: classifyStatusReason(status, detail), Code: e.code}
	case http.StatusNotFound:
		if !e.json || e.deploymentMissing() {
			detail := e.label()
			if !e.json {
				detail = "not an API error, check the api base"
			} else if detail == "" || detail == "404" {
				detail = "deployment not found"
			}
			return Outcome{
				Verdict:  DeploymentGone,
				Cooldown: MisconfiguredCooldown,
				Reason:   classifyStatusReason(status, detail),
				Code:     e.code,
			}
		}
	case http.StatusRequestTimeout, http.StatusConflict:
		return Outcome{Verdict: Transient, Reason: classifyStatusReason(status, e.label()), Code: e.code}
	case http.StatusBadRequest:
		if e.is("context_length_exceeded") || classifyContainsFold(e.message, "maximum context length") {
			return Outcome{
				Verdict: ContextTooLong,
				Reason:  classifyStatusReason(status, "context length exceeded"),
				Code:    e.code,
			}
		}
	}
	return Outcome{Verdict: CallerError, Reason: classifyStatusReason(status, e.label()), Code: e.code}
}

// classify429 tells a throttle from a request that can never fit and from an
// empty wallet, because each needs a different cooldown.
func classify429(h http.Header, e classifyBody, now time.Time) Outcome {
	if e.is("insufficient_quota") || classifyContainsFold(e.message, "exceeded your current quota") {
		// Only an explicit wait counts here: x-ratelimit-reset-* describe the
		// rate-limit windows, which say nothing about when billing is fixed.
		d, ok := retryAfterExplicit(h, now)
		if !ok {
			d, ok = retryAfterFromMessage(e.message)
		}
		if !ok {
			d = QuotaCooldown
		}
		return Outcome{
			Verdict:  QuotaExhausted,
			Cooldown: d,
			Reason:   "429 quota exhausted, retry-after " + d.String(),
			Code:     e.code,
		}
	}
	if classifyContainsFold(e.message, "request too large") {
		return Outcome{
			Verdict: TooLarge,
			Reason:  "429 request too large for this deployment",
			Code:    e.code,
		}
	}
	// Explicit waits first, then the message's "try again in 2s", and only
	// then x-ratelimit-reset-*: a reset header says when the bucket is full
	// again (6m0s for tokens), not when the next request fits, and a cooldown
	// that long would take a deployment out for no reason.
	d, ok := retryAfterExplicit(h, now)
	if !ok {
		d, ok = retryAfterFromMessage(e.message)
	}
	if !ok {
		d, ok = retryAfterFor(h, now, e.limitKind())
	}
	reason := "429 rate limited"
	if ok {
		reason = "429 retry-after " + d.String()
	}
	return Outcome{Verdict: RateLimited, Cooldown: d, Reason: reason, Code: e.code}
}

// classifyStatusReason is "upstream 503" or "upstream 400: content_filter";
// a detail that only repeats the status (Azure's code "404") is left out.
func classifyStatusReason(status int, detail string) string {
	code := strconv.Itoa(status)
	s := "upstream " + code
	if detail != "" && detail != code {
		s += ": " + detail
	}
	return s
}

// classifyBody is what the classifier needs from an error body.
type classifyBody struct {
	json      bool   // the body is an OpenAI/Azure-style JSON error
	code      string // error.code (or innererror.code), sanitised
	typ       string // error.type, sanitised
	innerCode string // Azure innererror.code, sanitised
	message   string // error.message, or the raw text of a non-JSON body; never echoed
}

// classifyParseBody decodes the tiny part of an OpenAI/Azure error body the
// classifier looks at. A body that is not a JSON object becomes the message,
// so that retry hints and markers can still be found in plain text.
func classifyParseBody(body []byte) classifyBody {
	if len(body) > classifyMaxBody {
		body = body[:classifyMaxBody]
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return classifyBody{}
	}
	var w classifyWire
	if trimmed[0] != '{' || !w.decode(trimmed) ||
		(w.Error == nil && w.Code == "" && w.Message == "") {
		// Not an API error: HTML, text, a cut body, or some other JSON
		// ({"detail":"Not Found"} from a proxy that does not know the path).
		return classifyBody{message: string(trimmed)}
	}
	b := classifyBody{json: true}
	if w.Error != nil {
		b.code = classifySafeToken(string(w.Error.Code))
		b.typ = classifySafeToken(w.Error.Type)
		b.message = w.Error.Message
		if w.Error.Inner != nil {
			b.innerCode = classifySafeToken(string(w.Error.Inner.Code))
		}
	}
	// Azure API Management answers {"statusCode":429,"message":"..."}.
	if b.message == "" {
		b.message = w.Message
	}
	if b.code == "" {
		b.code = classifySafeToken(string(w.Code))
	}
	if b.code == "" {
		b.code = b.innerCode
	}
	return b
}

// label is the most specific safe word for a Reason: the code, else the type.
func (b classifyBody) label() string {
	if b.code != "" {
		return b.code
	}
	return b.typ
}

// is reports whether the code, inner code or type is want, or, for a body
// that is not JSON (or was cut), whether its text mentions want.
func (b classifyBody) is(want string) bool {
	if strings.EqualFold(b.code, want) || strings.EqualFold(b.innerCode, want) || strings.EqualFold(b.typ, want) {
		return true
	}
	return !b.json && classifyContainsFold(b.message, want)
}

// deploymentMissing reports whether a JSON 404 says that the deployment,
// model or resource we addressed does not exist, as opposed to something the
// caller named (a file, a batch).
func (b classifyBody) deploymentMissing() bool {
	for _, c := range [...]string{b.code, b.innerCode} {
		switch strings.ToLower(c) {
		case "deploymentnotfound", "model_not_found", "modelnotfound", "resourcenotfound", "404":
			return true
		}
	}
	m := b.message
	if classifyContainsFold(m, "resource not found") {
		return true
	}
	// Azure AI Search: "The index 'hotels' for service 'x' was not found."
	if classifyContainsFold(m, "index") && classifyContainsFold(m, "was not found") {
		return true
	}
	return classifyContainsFold(m, "does not exist") &&
		(classifyContainsFold(m, "deployment") || classifyContainsFold(m, "model"))
}

// limitKind says which rate limit a 429 is about, so that RetryAfter's
// x-ratelimit-reset-* choice can follow the body.
func (b classifyBody) limitKind() retryAfterKind {
	switch t := strings.ToLower(b.typ); {
	case strings.HasPrefix(t, "tokens"): // "tokens", "tokens_usage_based"
		return retryAfterTokens
	case strings.HasPrefix(t, "requests"):
		return retryAfterRequests
	}
	m := b.message
	switch {
	case classifyContainsFold(m, "tokens per min"), classifyContainsFold(m, "token rate limit"):
		return retryAfterTokens
	case classifyContainsFold(m, "requests per min"), classifyContainsFold(m, "request rate limit"),
		classifyContainsFold(m, "call rate limit"):
		return retryAfterRequests
	}
	return retryAfterEither
}

// classifyWire is the shape of OpenAI and Azure error bodies, reduced to the
// fields the classifier reads. Unknown fields (param, content_filter_result)
// are skipped by the decoder.
type classifyWire struct {
	Error   *classifyWireError `json:"error"`
	Code    classifyJSONText   `json:"code"`
	Message string             `json:"message"` // Azure API Management: {"statusCode":429,"message":"..."}
}

type classifyWireError struct {
	Code    classifyJSONText `json:"code"` // "429", 429, "content_filter" or null
	Type    string           `json:"type"` // string or null
	Message string           `json:"message"`
	Inner   *struct {
		Code classifyJSONText `json:"code"`
	} `json:"innererror"`
}

// decode fills w from a JSON object and reports whether it was one. A field
// of an unexpected JSON type is left empty rather than failing the whole body:
// encoding/json skips it and carries on. {"error":"text"}, which some
// OpenAI-compatible servers send, is the one such case worth a second look.
func (w *classifyWire) decode(b []byte) bool {
	err := json.Unmarshal(b, w)
	if err == nil {
		return true
	}
	var typeErr *json.UnmarshalTypeError
	if !errors.As(err, &typeErr) {
		return false
	}
	if typeErr.Field == "error" && typeErr.Value == "string" {
		var s struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(b, &s) == nil {
			w.Error = &classifyWireError{Message: s.Error}
		}
	}
	return true
}

// classifyJSONText is a JSON scalar as text: a string's value or a number's
// literal (Azure sends code "429", others 429); null, booleans, objects and
// arrays become "". It never fails, so one odd field cannot hide the rest.
type classifyJSONText string

func (t *classifyJSONText) UnmarshalJSON(b []byte) error {
	*t = ""
	if len(b) == 0 {
		return nil
	}
	switch c := b[0]; {
	case c == '"':
		if bytes.IndexByte(b, '\\') < 0 && len(b) >= 2 {
			*t = classifyJSONText(b[1 : len(b)-1])
			return nil
		}
		var s string
		if json.Unmarshal(b, &s) == nil {
			*t = classifyJSONText(s)
		}
	case c == '-' || (c >= '0' && c <= '9'):
		*t = classifyJSONText(b)
	}
	return nil
}

// classifySafeToken returns s when it is a short identifier-like code
// (letters, digits, "_", "-", "."), else "". Upstream codes end up in logs and
// the admin API, so anything that could carry text is dropped.
func classifySafeToken(s string) string {
	if len(s) == 0 || len(s) > 64 {
		return ""
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return ""
		}
	}
	return s
}

// classifyContainsFold reports whether s contains substr, ignoring ASCII case.
// substr must be lower-case ASCII. It does not allocate, unlike
// strings.Contains(strings.ToLower(s), substr).
func classifyContainsFold(s, substr string) bool {
	return classifyIndexFold(s, substr) >= 0
}

// classifyIndexFold is strings.Index ignoring ASCII case; substr must be
// lower-case ASCII.
func classifyIndexFold(s, substr string) int {
	n := len(substr)
	if n == 0 {
		return 0
	}
	first := substr[0]
	for i := 0; i+n <= len(s); i++ {
		if classifyLower(s[i]) != first {
			continue
		}
		j := 1
		for j < n && classifyLower(s[i+j]) == substr[j] {
			j++
		}
		if j == n {
			return i
		}
	}
	return -1
}

func classifyLower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}

// ErrUnsupported is the error of an attempt on a deployment that does not
// serve the operation; ClassifyPrepareError makes it Unsupported.
var ErrUnsupported = errors.New("the deployment does not serve this operation")

// ClassifyPrepareError classifies a failure to build the upstream request,
// before anything was sent:
//   - the client left: ClientGone;
//   - ErrUnsupported: Unsupported;
//   - a *provider.CredentialError (no Entra ID token): AuthFailed with the
//     configured cooldown and the reason "entra token: ...", so the
//     deployment is skipped, shown cooling with that reason in
//     /admin/v1/routing, and the request moves on;
//   - anything else: Transient.
func ClassifyPrepareError(clientCtx context.Context, err error) Outcome {
	if clientCtx != nil && errors.Is(clientCtx.Err(), context.Canceled) {
		return Outcome{Verdict: ClientGone, Reason: "client cancelled"}
	}
	var ce *provider.CredentialError
	switch {
	case errors.Is(err, ErrUnsupported):
		return Outcome{Verdict: Unsupported, Reason: "deployment does not serve this operation"}
	case errors.As(err, &ce):
		return Outcome{Verdict: AuthFailed, Reason: "entra token: " + ce.Reason}
	}
	return Outcome{Verdict: Transient, Reason: "cannot prepare the upstream request"}
}

// ClassifyError classifies a transport error from RoundTrip, or from reading
// the body before any byte went to the client. clientCtx is the client's
// request context (nil is treated as never done).
//
// When clientCtx was cancelled the verdict is ClientGone whatever err is: the
// client left, so the error is most likely our own cancellation and the
// deployment must not be penalised. Everything else is Transient, including a
// deadline on clientCtx (the gateway's own request timeout) and a cancelled
// attempt context while the client is still there. Reason is a short fixed
// phrase ("connection refused", "timeout waiting for response headers"):
// never err.Error(), which can hold a URL with an api-key query parameter.
func ClassifyError(clientCtx context.Context, err error) Outcome {
	if clientCtx != nil && errors.Is(clientCtx.Err(), context.Canceled) {
		return Outcome{Verdict: ClientGone, Reason: "client cancelled"}
	}
	reason := classifyTransportReason(err)
	if clientCtx != nil && clientCtx.Err() != nil && errors.Is(err, context.DeadlineExceeded) {
		reason = "timeout: request deadline exceeded"
	}
	return Outcome{Verdict: Transient, Reason: reason}
}

// classifyTransportReason names a transport error in a few words.
func classifyTransportReason(err error) string {
	if err == nil {
		return "unknown transport error"
	}
	var (
		netErr   net.Error
		opErr    *net.OpError
		dnsErr   *net.DNSError
		certErr  *tls.CertificateVerificationError
		unkAuth  x509.UnknownAuthorityError
		hostErr  x509.HostnameError
		invalErr x509.CertificateInvalidError
		recErr   tls.RecordHeaderError
		alertErr tls.AlertError
		echErr   *tls.ECHRejectionError
	)
	// net/http exports neither of these timeouts, so its stable messages are
	// the only way to tell them apart. The text is matched, never echoed.
	msg := err.Error()
	switch {
	case strings.Contains(msg, "awaiting response headers"), strings.Contains(msg, "awaiting headers"):
		return "timeout waiting for response headers"
	case strings.Contains(msg, "TLS handshake timeout"):
		return "tls handshake timeout"
	}

	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.EPIPE):
		return "broken pipe"
	case errors.Is(err, syscall.EHOSTUNREACH):
		return "host unreachable"
	case errors.Is(err, syscall.ENETUNREACH):
		return "network unreachable"
	case errors.As(err, &dnsErr):
		if dnsErr.IsNotFound {
			return "dns: no such host"
		}
		if dnsErr.IsTimeout {
			return "dns: timeout"
		}
		return "dns lookup failed"
	case errors.As(err, &certErr), errors.As(err, &unkAuth), errors.As(err, &hostErr), errors.As(err, &invalErr):
		return "tls certificate error"
	case errors.As(err, &recErr), errors.As(err, &alertErr), errors.As(err, &echErr):
		return "tls handshake failed"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "unexpected EOF"
	case errors.Is(err, io.EOF):
		return "connection closed (EOF)"
	case errors.Is(err, context.Canceled):
		return "attempt cancelled"
	}

	timeout := errors.Is(err, context.DeadlineExceeded) || errors.Is(err, syscall.ETIMEDOUT) ||
		(errors.As(err, &netErr) && netErr.Timeout())
	hasOp := errors.As(err, &opErr)
	switch {
	case timeout && hasOp && opErr.Op == "dial":
		return "timeout connecting"
	case timeout && hasOp && opErr.Op == "read":
		return "timeout reading response"
	case timeout:
		return "timeout"
	case hasOp && opErr.Op == "dial":
		return "connect error"
	case hasOp && opErr.Op == "read":
		return "read error"
	case hasOp && opErr.Op == "write":
		return "write error"
	}
	return "transport error"
}
