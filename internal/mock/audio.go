package mock

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Speech to text: POST .../audio/transcriptions and .../audio/translations,
// multipart forms with a file and a model. The "audio" is never decoded:
// its length is its size at audioBytesPerSecond, and the transcript is
// lorem ipsum drawn from a hash of its content, about wordsPerSecond
// words a second. Models with "transcribe" in their name (gpt-4o-transcribe,
// gpt-4o-mini-transcribe) bill tokens and can stream; the others (whisper)
// bill seconds and offer every response_format.

const (
	// audioBytesPerSecond is the bitrate the mock assumes, 128 kbit/s.
	audioBytesPerSecond = 16000
	wordsPerSecond      = 2.5
	minTranscriptWords  = 3
	maxTranscriptWords  = 1000
	// audioTokensPerSecond is what an audio second costs in input tokens.
	audioTokensPerSecond = 10
	// wordsPerSegment is the length of a verbose_json, srt or vtt segment.
	wordsPerSegment = 12
)

var textContentType = []string{"text/plain; charset=utf-8"}

// transcript is the mock's hearing of an audio file.
type transcript struct {
	model     string
	translate bool
	tokens    bool    // billed in tokens, not seconds
	seconds   float64 // the audio's length
	words     []string
	text      string
	prompt    string
}

func newTranscript(model string, translate bool, file formFile, prompt string) transcript {
	seconds := math.Round(float64(max(file.size, 1))/audioBytesPerSecond*100) / 100
	n := min(max(int(seconds*wordsPerSecond), minTranscriptWords), maxTranscriptWords)
	h := newHasher()
	h.addUint(file.hash)
	h.add(prompt)
	if translate {
		h.add("translate")
	}
	a := answer{seed: uint64(h), n: n, finish: "stop"}
	text := string(a.appendText(nil))
	return transcript{
		model:     model,
		translate: translate,
		tokens:    !translate && strings.Contains(model, "transcribe"),
		seconds:   max(seconds, 0.01),
		words:     strings.Fields(text),
		text:      text,
		prompt:    prompt,
	}
}

// transcribe answers transcriptions and translations.
func (c *call) transcribe() {
	f, ok := c.readMultipart(formOptions{})
	if !ok {
		return
	}
	model, ok := c.requireFormModel(f)
	if !ok {
		return
	}
	files, ok := c.requireFile(f, "file")
	if !ok {
		return
	}
	t := newTranscript(model, c.route.ep == epTranslations, files[0], f.value("prompt"))
	format := f.value("response_format")
	if format == "" {
		format = "json"
	}
	formats := []string{"json", "text", "srt", "verbose_json", "vtt"}
	if t.tokens {
		formats = formats[:2]
	}
	if !slices.Contains(formats, format) {
		badRequest(c.w, "response_format '"+format+"' is not compatible with model '"+model+"'. Use one of "+strings.Join(formats, ", ")+".", "response_format", "unsupported_value")
		return
	}
	// Whisper ignores stream, as OpenAI documents.
	if t.tokens && f.value("stream") == "true" {
		c.streamTranscript(&t)
		return
	}
	if !c.sleep(c.generationDelay(len(t.words))) {
		return
	}
	var b []byte
	switch format {
	case "text":
		c.writeBodyAs(textContentType, []byte(t.text+"\n"))
		return
	case "srt", "vtt":
		c.writeBodyAs(textContentType, t.subtitles(format))
		return
	case "verbose_json":
		b = t.appendVerbose(nil, slices.Contains(f.values["timestamp_granularities[]"], "word"))
	default:
		b = append(b, '{')
		b = appendKV(b, "text", t.text)
		if !t.translate {
			b = append(b, ',')
			b = t.appendUsage(b)
		}
		b = append(b, '}')
	}
	c.writeBody(b)
}

// appendUsage appends "usage": tokens for the models that bill tokens,
// whole seconds for whisper.
func (t *transcript) appendUsage(b []byte) []byte {
	if !t.tokens {
		b = append(b, `"usage":{"type":"duration",`...)
		b = appendKInt(b, "seconds", int64(math.Ceil(t.seconds)))
		return append(b, '}')
	}
	audio := int(math.Ceil(t.seconds * audioTokensPerSecond))
	text := approxTokens(t.prompt)
	b = append(b, `"usage":{"type":"tokens",`...)
	b = appendKInt(b, "input_tokens", int64(audio+text))
	b = append(b, `,"input_token_details":{`...)
	b = appendKInt(b, "text_tokens", int64(text))
	b = append(b, ',')
	b = appendKInt(b, "audio_tokens", int64(audio))
	b = append(b, "},"...)
	b = appendKInt(b, "output_tokens", int64(len(t.words)))
	b = append(b, ',')
	b = appendKInt(b, "total_tokens", int64(audio+text+len(t.words)))
	return append(b, '}')
}

// at is when word i starts, in seconds.
func (t *transcript) at(i int) float64 {
	return math.Round(t.seconds*float64(i)/float64(len(t.words))*1000) / 1000
}

// segments calls f for each segment: its index, first word and end word.
func (t *transcript) segments(f func(i, from, to int)) {
	for i, from := 0, 0; from < len(t.words); i, from = i+1, from+wordsPerSegment {
		f(i, from, min(from+wordsPerSegment, len(t.words)))
	}
}

func (t *transcript) appendVerbose(b []byte, words bool) []byte {
	task := "transcribe"
	if t.translate {
		task = "translate"
	}
	b = append(b, '{')
	b = appendKV(b, "task", task)
	b = append(b, `,"language":"english","duration":`...)
	b = strconv.AppendFloat(b, t.seconds, 'f', -1, 64)
	b = append(b, ',')
	b = appendKV(b, "text", t.text)
	if words {
		b = append(b, `,"words":[`...)
		for i, w := range t.words {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '{')
			b = appendKV(b, "word", strings.TrimRight(w, "."))
			b = append(b, `,"start":`...)
			b = strconv.AppendFloat(b, t.at(i), 'f', -1, 64)
			b = append(b, `,"end":`...)
			b = strconv.AppendFloat(b, t.at(i+1), 'f', -1, 64)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `,"segments":[`...)
	t.segments(func(i, from, to int) {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '{')
		b = appendKInt(b, "id", int64(i))
		b = append(b, `,"seek":0,"start":`...)
		b = strconv.AppendFloat(b, t.at(from), 'f', -1, 64)
		b = append(b, `,"end":`...)
		b = strconv.AppendFloat(b, t.at(to), 'f', -1, 64)
		b = append(b, ',')
		b = appendKV(b, "text", " "+strings.Join(t.words[from:to], " "))
		b = append(b, `,"tokens":[`...)
		for k := from; k < to; k++ {
			if k > from {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, 50364+int64(k), 10)
		}
		b = append(b, `],"temperature":0.0,"avg_logprob":-0.25,"compression_ratio":1.2,"no_speech_prob":0.01}`...)
	})
	b = append(b, ']')
	if !t.translate {
		b = append(b, ',')
		b = t.appendUsage(b)
	}
	return append(b, '}')
}

// subtitles renders the transcript as SubRip (srt) or WebVTT (vtt).
func (t *transcript) subtitles(format string) []byte {
	var b []byte
	sep := byte(',')
	if format == "vtt" {
		b = append(b, "WEBVTT\n\n"...)
		sep = '.'
	}
	t.segments(func(i, from, to int) {
		if format == "srt" {
			b = strconv.AppendInt(b, int64(i+1), 10)
			b = append(b, '\n')
		}
		b = appendTimestamp(b, t.at(from), sep)
		b = append(b, " --> "...)
		b = appendTimestamp(b, t.at(to), sep)
		b = append(b, '\n')
		b = append(b, strings.Join(t.words[from:to], " ")...)
		b = append(b, "\n\n"...)
	})
	return b
}

// appendTimestamp appends HH:MM:SS,mmm (sep ',' for srt, '.' for vtt).
func appendTimestamp(b []byte, seconds float64, sep byte) []byte {
	ms := int64(math.Round(seconds * 1000))
	return fmt.Appendf(b, "%02d:%02d:%02d%c%03d", ms/3600000, ms/60000%60, ms/1000%60, sep, ms%1000)
}

// streamTranscript sends the transcript as OpenAI streams it: one
// transcript.text.delta event per word, then transcript.text.done with
// the text and the usage. Events are data: lines only, with no [DONE].
func (c *call) streamTranscript(t *transcript) {
	h := c.w.Header()
	h["Content-Type"] = sseContentType
	h["Cache-Control"] = noCache
	c.w.WriteHeader(http.StatusOK)
	bp := getBuf()
	defer putBuf(bp)
	sw := sseWriter{c: c, rc: http.NewResponseController(c.w), buf: bp}
	if c.abortAfter == 0 {
		_ = sw.rc.Flush()
		abort(c.w, true)
		return
	}
	p := newPacer(c.tps)
	for i, w := range t.words {
		if !sw.wait(&p) {
			return
		}
		if i > 0 {
			w = " " + w
		}
		b := append((*bp)[:0], `data: {"type":"transcript.text.delta",`...)
		b = appendKV(b, "delta", w)
		b = append(b, "}\n\n"...)
		*bp = b
		if !sw.write(b) {
			return
		}
	}
	b := append((*bp)[:0], `data: {"type":"transcript.text.done",`...)
	b = appendKV(b, "text", t.text)
	b = append(b, ',')
	b = t.appendUsage(b)
	b = append(b, "}\n\n"...)
	*bp = b
	if sw.write(b) && c.abortAfter > 0 {
		abort(c.w, true)
	}
}
