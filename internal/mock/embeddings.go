package mock

import (
	"encoding/base64"
	"encoding/binary"
	"math"
	"strconv"
)

const (
	// DefaultDimensions is the length of an embedding when the request
	// does not ask for one (text-embedding-3-small, ada-002).
	DefaultDimensions = 1536
	maxDimensions     = 4096
	maxEmbedInputs    = 2048
)

type embeddingRequest struct {
	Model          string    `json:"model"`
	Input          textInput `json:"input"`
	Dimensions     int       `json:"dimensions"`
	EncodingFormat string    `json:"encoding_format"`
}

// embeddings answers with one unit vector per input, derived from the
// input's content: equal texts get equal vectors.
func (c *call) embeddings() {
	var req embeddingRequest
	if !c.checkExtraParameters() || !c.readBody(&req) {
		return
	}
	model, ok := c.requireModel(req.Model)
	if !ok {
		return
	}
	dims := req.Dimensions
	if dims == 0 {
		dims = DefaultDimensions
	}
	b64 := false
	switch {
	case !req.Input.set:
		badRequest(c.w, "Missing required parameter: 'input'.", "input", "missing_required_parameter")
		return
	case len(req.Input.items) == 0:
		badRequest(c.w, "Invalid 'input': empty array. Expected an array with minimum length 1, but got an empty array instead.", "input", "empty_array")
		return
	case len(req.Input.items) > maxEmbedInputs:
		badRequest(c.w, "Invalid 'input': array too long. Expected an array with maximum length "+strconv.Itoa(maxEmbedInputs)+", but got an array with length "+strconv.Itoa(len(req.Input.items))+" instead.", "input", "array_above_max_length")
		return
	case dims < 1 || dims > maxDimensions:
		badRequest(c.w, "Invalid 'dimensions': expected a value between 1 and "+strconv.Itoa(maxDimensions)+", got "+strconv.Itoa(dims)+".", "dimensions", "invalid_value")
		return
	case req.EncodingFormat == "base64":
		b64 = true
	case req.EncodingFormat != "" && req.EncodingFormat != "float":
		badRequest(c.w, "Invalid value for 'encoding_format': must be 'float' or 'base64', got '"+req.EncodingFormat+"'.", "encoding_format", "invalid_value")
		return
	}

	bp := getBuf()
	defer putBuf(bp)
	b := append((*bp)[:0], `{"object":"list","data":[`...)
	var raw *[]byte
	if b64 {
		raw = getBuf()
		defer putBuf(raw)
	}
	tokens := 0
	for i, in := range req.Input.items {
		tokens += in.tokens
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"object":"embedding","index":`...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `,"embedding":`...)
		if b64 {
			r := (*raw)[:0]
			r = appendVector(r, in.seed, dims, appendFloatLE)
			*raw = r
			b = append(b, '"')
			b = base64.StdEncoding.AppendEncode(b, r)
			b = append(b, '"')
		} else {
			b = append(b, '[')
			b = appendVector(b, in.seed, dims, appendFloatJSON)
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	b = append(b, "],"...)
	b = appendKV(b, "model", model)
	b = append(b, `,"usage":{`...)
	b = appendKInt(b, "prompt_tokens", int64(tokens))
	b = append(b, ',')
	b = appendKInt(b, "total_tokens", int64(tokens))
	b = append(b, "}}"...)
	*bp = b
	c.writeBody(b)
}

// appendVector appends the dims components of the unit vector for seed,
// each with put. Components are generated twice (once for the norm) rather
// than stored, which keeps the path allocation-free.
func appendVector(b []byte, seed uint64, dims int, put func([]byte, int, float32) []byte) []byte {
	var sum float64
	for i := range dims {
		v := component(seed, i)
		sum += v * v
	}
	norm := math.Sqrt(sum)
	if norm == 0 {
		norm = 1
	}
	for i := range dims {
		b = put(b, i, float32(component(seed, i)/norm))
	}
	return b
}

// component is a pseudo-random value in [-1,1).
func component(seed uint64, i int) float64 {
	return float64(int64(splitmix(seed+uint64(i)))) / (1 << 63)
}

func appendFloatJSON(b []byte, i int, v float32) []byte {
	if i > 0 {
		b = append(b, ',')
	}
	return strconv.AppendFloat(b, float64(v), 'g', -1, 32)
}

// appendFloatLE is the base64 encoding's payload: little-endian float32.
func appendFloatLE(b []byte, _ int, v float32) []byte {
	return binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
}
