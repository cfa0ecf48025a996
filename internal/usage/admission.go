package usage

import "bytes"

// AdmissionTokens is the cheap estimate of a request's prompt tokens that
// tpm limits are checked with before the request is sent: about four bytes
// per token over the whole JSON body (OpenAI's rule of thumb for English;
// JSON's own punctuation and field names make it an overestimate of a
// few tokens per message), where an inline image or audio clip (a data:
// URL, or a long string of nothing but base64) counts as tokensPerImage
// instead of its bytes.
//
// It reads the body once, without decoding it or running the tokenizer,
// so its cost is bounded by the body's length (about a nanosecond a byte)
// and it allocates nothing. It is corrected by the upstream's reported
// usage as soon as the answer is in (access.Checker.Settle,
// router.SettleTokens), so an estimate off by a factor only shifts when
// within a minute a tpm limit bites, never what is finally counted. Numbers
// shown to a user come from EstimatePromptTokens.
func AdmissionTokens(body []byte) int {
	text, media := 0, 0
	for len(body) > 0 {
		i := bytes.IndexByte(body, '"')
		if i < 0 {
			text += len(body)
			break
		}
		text += i + 2 // the quotes
		body = body[i+1:]
		end := stringEnd(body)
		if s := body[:end]; isMedia(s) {
			media++
		} else {
			text += len(s)
		}
		body = body[min(end+1, len(body)):]
	}
	return (text+3)/4 + media*tokensPerImage
}

// stringEnd returns the index of the quote that closes a JSON string whose
// text starts at s[0], or len(s) when it is not closed.
func stringEnd(s []byte) int {
	from := 0
	for {
		j := bytes.IndexByte(s[from:], '"')
		if j < 0 {
			return len(s)
		}
		at := from + j
		// A quote preceded by an odd number of backslashes is escaped.
		k := at
		for k > 0 && s[k-1] == '\\' {
			k--
		}
		if (at-k)%2 == 0 {
			return at
		}
		from = at + 1
	}
}

// minMediaRun is how long a string of base64 must be to be taken for
// inline media rather than text: longer than any word.
const minMediaRun = 256

// isMedia reports whether a JSON string's text is inline media: a data:
// URL, or a long run of base64 alone (input_audio's data, say).
func isMedia(s []byte) bool {
	if bytes.HasPrefix(s, []byte("data:")) {
		return true
	}
	if len(s) < minMediaRun {
		return false
	}
	for _, c := range s {
		if !isBase64(c) {
			return false
		}
	}
	return true
}

func isBase64(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '='
}
