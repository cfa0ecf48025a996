package mock

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"unicode/utf8"
)

// Text to speech: POST .../audio/speech answers with audio bytes, streamed
// in flushed chunks as OpenAI streams them. The audio lasts about one
// second per charsPerSpeechSecond characters of input, divided by speed.
// wav and pcm are 24 kHz 16-bit mono samples of quiet noise drawn from the
// input; mp3 is silent MPEG frames, so all three decode. opus, aac and flac
// are only their format's magic bytes followed by filler of a plausible
// size. With stream_format "sse" the chunks go out base64-encoded as
// speech.audio.delta events, then speech.audio.done with the usage.

const (
	maxSpeechInput       = 4096
	charsPerSpeechSecond = 15
	minSpeechSeconds     = 0.5
	speechSampleRate     = 24000
	// speechChunk is how many bytes go out per flush; a reset-mid-stream
	// fault counts chunks.
	speechChunk = 4096
	// mp3FrameSamples and mp3Frame describe an MPEG-1 Layer III frame at
	// 128 kbit/s, 44.1 kHz, mono: a 4-byte header and silence.
	mp3FrameSamples = 1152
	mp3FrameRate    = 44100
	mp3FrameSize    = 417
	// fillerBytesPerSecond sizes the formats the mock does not encode.
	fillerBytesPerSecond = 4000
)

// mp3Silence is a frame's side information and data, all zero: silence.
var mp3Silence [mp3FrameSize - 4]byte

var speechFormats = map[string]string{
	"mp3": "audio/mpeg", "opus": "audio/opus", "aac": "audio/aac",
	"flac": "audio/flac", "wav": "audio/wav", "pcm": "audio/pcm",
}

type speechRequest struct {
	Model          string          `json:"model"`
	Input          *string         `json:"input"`
	Voice          json.RawMessage `json:"voice"`
	ResponseFormat string          `json:"response_format"`
	Speed          *float64        `json:"speed"`
	StreamFormat   string          `json:"stream_format"`
}

// speech answers POST .../audio/speech.
func (c *call) speech() {
	var req speechRequest
	if !c.readBody(&req) {
		return
	}
	model, ok := c.requireModel(req.Model)
	if !ok || !c.checkSpeech(&req, model) {
		return
	}
	format := req.ResponseFormat
	if format == "" {
		format = "mp3"
	}
	speed := 1.0
	if req.Speed != nil {
		speed = *req.Speed
	}
	runes := utf8.RuneCountInString(*req.Input)
	h := newHasher()
	h.add(*req.Input)
	snd := newSound(format, max(float64(runes)/charsPerSpeechSecond, minSpeechSeconds)/speed, uint64(h))

	hdr := c.w.Header()
	if req.StreamFormat == "sse" {
		hdr["Content-Type"] = sseContentType
		hdr["Cache-Control"] = noCache
	} else {
		hdr["Content-Type"] = []string{speechFormats[format]}
	}
	c.w.WriteHeader(http.StatusOK)
	bp := getBuf()
	defer putBuf(bp)
	sw := sseWriter{c: c, rc: http.NewResponseController(c.w), buf: bp}
	if c.abortAfter == 0 {
		_ = sw.rc.Flush()
		abort(c.w, true)
		return
	}
	var p pacer
	if c.slow {
		p = newPacer(c.tps)
	}
	chunk := make([]byte, 0, speechChunk+mp3FrameSize)
	send := func(b []byte) bool {
		if !sw.wait(&p) {
			return false
		}
		if req.StreamFormat != "sse" {
			return sw.write(b)
		}
		e := append((*bp)[:0], `data: {"type":"speech.audio.delta","audio":"`...)
		e = base64.StdEncoding.AppendEncode(e, b)
		e = append(e, "\"}\n\n"...)
		*bp = e
		return sw.write(e)
	}
	chunk = append(chunk, snd.header...)
	for i := range snd.frames {
		chunk = snd.frame(chunk, i)
		if len(chunk) >= speechChunk || i == snd.frames-1 {
			if !send(chunk) {
				return
			}
			chunk = chunk[:0]
		}
	}
	if req.StreamFormat == "sse" {
		in := approxTokens(*req.Input)
		out := int(math.Ceil(snd.seconds * audioTokensPerSecond))
		e := append((*bp)[:0], `data: {"type":"speech.audio.done","usage":{`...)
		e = appendKInt(e, "input_tokens", int64(in))
		e = append(e, ',')
		e = appendKInt(e, "output_tokens", int64(out))
		e = append(e, ',')
		e = appendKInt(e, "total_tokens", int64(in+out))
		e = append(e, "}}\n\n"...)
		*bp = e
		if !sw.write(e) {
			return
		}
	}
	if c.abortAfter > 0 {
		abort(c.w, true)
	}
}

// checkSpeech rejects what OpenAI rejects.
func (c *call) checkSpeech(req *speechRequest, model string) bool {
	switch {
	case req.Input == nil:
		badRequest(c.w, "Missing required parameter: 'input'.", "input", "missing_required_parameter")
	case utf8.RuneCountInString(*req.Input) > maxSpeechInput:
		badRequest(c.w, "Invalid 'input': string too long. Expected a string with maximum length "+strconv.Itoa(maxSpeechInput)+", but got a string with length "+strconv.Itoa(utf8.RuneCountInString(*req.Input))+" instead.", "input", "string_above_max_length")
	case len(req.Voice) == 0 || string(req.Voice) == "null" || string(req.Voice) == `""`:
		badRequest(c.w, "Missing required parameter: 'voice'.", "voice", "missing_required_parameter")
	case req.ResponseFormat != "" && speechFormats[req.ResponseFormat] == "":
		badRequest(c.w, "Invalid value: '"+req.ResponseFormat+"'. Supported values are: 'mp3', 'opus', 'aac', 'flac', 'wav', and 'pcm'.", "response_format", "invalid_value")
	case req.Speed != nil && !(*req.Speed >= 0.25 && *req.Speed <= 4):
		badRequest(c.w, "Invalid 'speed': expected a value between 0.25 and 4.0, got "+strconv.FormatFloat(*req.Speed, 'g', -1, 64)+".", "speed", "invalid_value")
	case req.StreamFormat != "" && req.StreamFormat != "audio" && req.StreamFormat != "sse":
		badRequest(c.w, "Invalid value: '"+req.StreamFormat+"'. Supported values are: 'sse' and 'audio'.", "stream_format", "invalid_value")
	case req.StreamFormat == "sse" && (model == "tts-1" || model == "tts-1-hd"):
		badRequest(c.w, "stream_format 'sse' is not supported for model '"+model+"'.", "stream_format", "unsupported_value")
	default:
		return true
	}
	return false
}

// sound is generated audio: a header, then frames appended one by one so
// that a long answer never sits in memory whole.
type sound struct {
	seconds float64
	header  []byte
	frames  int
	frame   func(b []byte, i int) []byte
}

func newSound(format string, seconds float64, seed uint64) sound {
	s := sound{seconds: seconds}
	switch format {
	case "pcm", "wav":
		const samplesPerFrame = speechSampleRate / 50 // 20 ms
		s.frames = int(math.Ceil(seconds * 50))
		s.frame = func(b []byte, i int) []byte {
			for k := range samplesPerFrame {
				// Quiet noise: samples within ±32 of silence.
				v := int16(splitmix(seed+uint64(i*samplesPerFrame+k))%65) - 32
				b = binary.LittleEndian.AppendUint16(b, uint16(v))
			}
			return b
		}
		if format == "wav" {
			s.header = wavHeader(s.frames * samplesPerFrame * 2)
		}
	case "mp3":
		s.frames = int(math.Ceil(seconds * mp3FrameRate / mp3FrameSamples))
		s.frame = func(b []byte, _ int) []byte {
			b = append(b, 0xff, 0xfb, 0x90, 0xc4) // MPEG-1 Layer III, 128 kbit/s, 44.1 kHz, mono
			return append(b, mp3Silence[:]...)
		}
	default:
		magic := map[string]string{"opus": "OggS", "aac": "\xff\xf1", "flac": "fLaC"}[format]
		s.header = []byte(magic)
		s.frames = int(math.Ceil(seconds * 50))
		s.frame = func(b []byte, i int) []byte {
			for k := range fillerBytesPerSecond / 50 {
				b = append(b, byte(splitmix(seed+uint64(i<<8+k))))
			}
			return b
		}
	}
	return s
}

// wavHeader is the 44-byte RIFF header of dataLen bytes of 24 kHz 16-bit
// mono PCM.
func wavHeader(dataLen int) []byte {
	b := make([]byte, 0, 44)
	b = append(b, "RIFF"...)
	b = binary.LittleEndian.AppendUint32(b, uint32(36+dataLen))
	b = append(b, "WAVEfmt "...)
	b = binary.LittleEndian.AppendUint32(b, 16) // fmt chunk size
	b = binary.LittleEndian.AppendUint16(b, 1)  // PCM
	b = binary.LittleEndian.AppendUint16(b, 1)  // mono
	b = binary.LittleEndian.AppendUint32(b, speechSampleRate)
	b = binary.LittleEndian.AppendUint32(b, speechSampleRate*2) // byte rate
	b = binary.LittleEndian.AppendUint16(b, 2)                  // block align
	b = binary.LittleEndian.AppendUint16(b, 16)                 // bits per sample
	b = append(b, "data"...)
	return binary.LittleEndian.AppendUint32(b, uint32(dataLen))
}
