package router

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MaxRetryAfter caps every wait taken from an upstream. An Azure deployment
// on a daily quota really does say "retry after 86400 seconds", and that is
// honoured; anything longer is treated as a day plus a minute, so a garbled
// header cannot park a deployment for years.
const MaxRetryAfter = 24*time.Hour + time.Minute

// retryAfterKind says which rate limit a 429 was about, as far as the body
// tells; it picks between the x-ratelimit-reset-* headers.
type retryAfterKind uint8

const (
	retryAfterEither retryAfterKind = iota
	retryAfterRequests
	retryAfterTokens
)

// RetryAfter extracts how long an upstream asks us to wait. Sources, most
// precise first; the first one that yields a positive wait wins:
//
//  1. retry-after-ms: milliseconds, possibly fractional ("5520", "5520.5").
//  2. Retry-After: seconds, possibly fractional ("6", "0.5"), or an HTTP-date
//     taken relative to now.
//  3. x-ratelimit-reset-requests and x-ratelimit-reset-tokens: OpenAI's Go
//     duration forms ("1s", "6m0s", "20ms", "1h2m3.5s", "0.5s") or a bare
//     number of seconds. RetryAfter knows nothing of the body and takes the
//     larger of the two; ClassifyResponse takes the one the 429 body names
//     (type "tokens", "tokens per min", "requests per min", ...) when present.
//
// Values that are zero, negative, in the past or unparsable are ignored, so
// the next source is tried; ok is false when no source yields a positive wait.
// Waits above MaxRetryAfter are capped to it.
//
// ClassifyResponse falls back to a hint in the error message ("Please retry
// after 45 seconds", "Please try again in 2s", "try again in 20ms") when no
// header gives one: Azure sometimes omits the headers.
func RetryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	return retryAfterFor(h, now, retryAfterEither)
}

// retryAfterFor is RetryAfter with the body's say on which reset header
// matters. When the named header is missing or unusable the other one is used.
func retryAfterFor(h http.Header, now time.Time, kind retryAfterKind) (time.Duration, bool) {
	if d, ok := retryAfterExplicit(h, now); ok {
		return d, true
	}
	req, reqOK := retryAfterReset(h.Get("X-Ratelimit-Reset-Requests"))
	tok, tokOK := retryAfterReset(h.Get("X-Ratelimit-Reset-Tokens"))
	switch {
	case kind == retryAfterTokens && tokOK:
		return tok, true
	case kind == retryAfterRequests && reqOK:
		return req, true
	case reqOK && tokOK:
		return max(req, tok), true
	case reqOK:
		return req, true
	case tokOK:
		return tok, true
	}
	return 0, false
}

// retryAfterExplicit reads the headers that are an explicit request to wait,
// retry-after-ms then Retry-After, as opposed to the rate-limit window resets.
func retryAfterExplicit(h http.Header, now time.Time) (time.Duration, bool) {
	if d, ok := retryAfterNumber(h.Get("Retry-After-Ms"), time.Millisecond); ok {
		return d, true
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if d, ok := retryAfterNumber(v, time.Second); ok {
		return d, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return retryAfterClamp(t.Sub(now))
	}
	return 0, false
}

// retryAfterReset parses an x-ratelimit-reset-* value.
func retryAfterReset(v string) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if d, err := time.ParseDuration(v); err == nil {
		return retryAfterClamp(d)
	}
	return retryAfterNumber(v, time.Second)
}

// retryAfterNumber parses a plain decimal ("6", "5520.5") counted in unit.
// Signs, exponents, hex, "Inf" and "NaN", which strconv.ParseFloat would
// accept, are rejected: no upstream sends them and they only invite overflow.
func retryAfterNumber(v string, unit time.Duration) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	digits, dots := 0, 0
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.':
			dots++
		default:
			return 0, false
		}
	}
	if digits == 0 || dots > 1 {
		return 0, false
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0, false
	}
	f *= float64(unit)
	if f >= float64(MaxRetryAfter) {
		return MaxRetryAfter, true
	}
	return retryAfterClamp(time.Duration(math.Round(f)))
}

// retryAfterClamp ignores non-positive waits and caps long ones.
func retryAfterClamp(d time.Duration) (time.Duration, bool) {
	if d <= 0 {
		return 0, false
	}
	return min(d, MaxRetryAfter), true
}

// retryAfterMarkers introduce a wait in upstream error messages:
// Azure "Please retry after 6 seconds.", Azure API Management "Try again in 1
// seconds.", OpenAI "Please try again in 2s." / "in 20ms" / "in 6m0s".
var retryAfterMarkers = [...]string{"retry after ", "try again in ", "try again after ", "retry in "}

// retryAfterFromMessage finds a wait in an error message. It is the last
// resort, used only when no header gives one. The message is only read.
func retryAfterFromMessage(msg string) (time.Duration, bool) {
	for _, marker := range retryAfterMarkers {
		for off := 0; off < len(msg); {
			i := classifyIndexFold(msg[off:], marker)
			if i < 0 {
				break
			}
			off += i + len(marker)
			if d, ok := retryAfterPhrase(msg[off:]); ok {
				return d, true
			}
		}
	}
	return 0, false
}

// retryAfterPhrase parses the wait at the start of s: "6 seconds", "45
// seconds.", "2s", "20ms", "1.5 minutes", "6m0s", "7.": a bare number is
// seconds. A number followed by an unknown word ("6 times") is not a wait.
func retryAfterPhrase(s string) (time.Duration, bool) {
	s = strings.TrimLeft(s, " ")
	n := 0
	for n < len(s) && retryAfterTokenByte(s[n]) {
		n++
	}
	tok := s[:n]
	rest := s[n:]
	sentenceEnd := strings.HasSuffix(tok, ".")
	tok = strings.TrimRight(tok, ".")
	if tok == "" || tok[0] < '0' || tok[0] > '9' {
		return 0, false
	}
	k := 0
	for k < len(tok) && (tok[k] >= '0' && tok[k] <= '9' || tok[k] == '.') {
		k++
	}
	num, word := tok[:k], tok[k:]
	if word != "" { // "2s", "20ms", "6seconds", "6m0s"
		if unit, ok := retryAfterUnit(word); ok {
			return retryAfterNumber(num, unit)
		}
		if d, err := time.ParseDuration(strings.ToLower(tok)); err == nil {
			return retryAfterClamp(d)
		}
		return 0, false
	}
	if sentenceEnd || !strings.HasPrefix(rest, " ") { // "7.", "7,", end of text
		return retryAfterNumber(num, time.Second)
	}
	rest = strings.TrimLeft(rest, " ")
	w := 0
	for w < len(rest) && (rest[w] >= 'a' && rest[w] <= 'z' || rest[w] >= 'A' && rest[w] <= 'Z') {
		w++
	}
	if w == 0 { // "7 (" or "7 -"
		return retryAfterNumber(num, time.Second)
	}
	unit, ok := retryAfterUnit(rest[:w])
	if !ok {
		return 0, false
	}
	return retryAfterNumber(num, unit)
}

func retryAfterTokenByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// retryAfterUnit maps a unit word of a message to its duration.
func retryAfterUnit(word string) (time.Duration, bool) {
	switch strings.ToLower(word) {
	case "ms", "msec", "msecs", "millisecond", "milliseconds":
		return time.Millisecond, true
	case "s", "sec", "secs", "second", "seconds":
		return time.Second, true
	case "m", "min", "mins", "minute", "minutes":
		return time.Minute, true
	case "h", "hr", "hrs", "hour", "hours":
		return time.Hour, true
	case "day", "days": // Azure AI services' call volume quota
		return 24 * time.Hour, true
	}
	return 0, false
}
