package mock

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"strconv"
	"time"
)

const (
	maxImages = 10
	// imageSide is the side of the generated pictures, in pixels: small,
	// whatever size was asked for.
	imageSide = 64
)

type imageRequest struct {
	Model          string `json:"model"`
	Prompt         string `json:"prompt"`
	N              int    `json:"n"`
	ResponseFormat string `json:"response_format"`
}

// images answers with n generated pictures: a gradient whose colour
// depends on the prompt. URLs point back to this server (/mock/images/),
// so a browser can show them.
func (c *call) images() {
	req, ok := c.readImageRequest()
	if !ok {
		return
	}
	b64, ok := c.imageFormat(req.ResponseFormat)
	if !ok {
		return
	}
	h := newHasher()
	h.add(req.Prompt)
	c.writeImages(h, req.N, b64, "A simulated picture of: "+req.Prompt)
}

// imageFormat reads response_format: false for url (the default), true
// for b64_json. On failure it has written the 400.
func (c *call) imageFormat(format string) (b64, ok bool) {
	switch format {
	case "", "url":
		return false, true
	case "b64_json":
		return true, true
	}
	badRequest(c.w, "Invalid value for 'response_format': must be 'url' or 'b64_json', got '"+format+"'.", "response_format", "invalid_value")
	return false, false
}

// writeImages answers with n pictures drawn from h, as URLs or base64
// PNGs, each with revised (if not empty) as its revised_prompt.
func (c *call) writeImages(h hasher, n int, b64 bool, revised string) {
	base := c.origin() + "/mock/images/"
	bp := getBuf()
	defer putBuf(bp)
	b := append((*bp)[:0], '{')
	b = appendKInt(b, "created", time.Now().Unix())
	b = append(b, `,"data":[`...)
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		rgb := h.imageRGB(i)
		b = append(b, '{')
		if b64 {
			b = append(b, `"b64_json":"`...)
			b = base64.StdEncoding.AppendEncode(b, gradientPNG(rgb))
			b = append(b, '"')
		} else {
			b = appendKV(b, "url", base+hex6(rgb)+".png")
		}
		if revised != "" {
			b = append(b, ',')
			b = appendKV(b, "revised_prompt", revised)
		}
		b = append(b, '}')
	}
	b = append(b, "]}"...)
	*bp = b
	c.writeBody(b)
}

// readImageRequest reads and checks an image generation request, for the
// synchronous route and the DALL-E 2 submission alike. N defaults to 1.
func (c *call) readImageRequest() (imageRequest, bool) {
	var req imageRequest
	if !c.readBody(&req) {
		return req, false
	}
	if req.Prompt == "" {
		badRequest(c.w, "Missing required parameter: 'prompt'.", "prompt", "missing_required_parameter")
		return req, false
	}
	if req.N == 0 {
		req.N = 1
	}
	return req, c.checkImageCount(req.N)
}

// checkImageCount rejects an n out of range.
func (c *call) checkImageCount(n int) bool {
	if n >= 1 && n <= maxImages {
		return true
	}
	badRequest(c.w, "Invalid 'n': expected a value between 1 and "+strconv.Itoa(maxImages)+", got "+strconv.Itoa(n)+".", "n", "invalid_value")
	return false
}

// origin is the scheme and host the request came in by, for URLs that
// point back at this server.
func (c *call) origin() string {
	if c.r.TLS != nil {
		return "https://" + c.r.Host
	}
	return "http://" + c.r.Host
}

// imageRGB is the colour of picture i for a prompt hashed into h.
func (h hasher) imageRGB(i int) uint32 {
	return uint32(splitmix(uint64(h)+uint64(i))) & 0xffffff
}

// serveImageFile serves /mock/images/RRGGBB.png.
func serveImageFile(w http.ResponseWriter, name string) {
	rgb, err := strconv.ParseUint(name, 16, 32)
	if err != nil || len(name) != 6 {
		writeError(w, http.StatusNotFound, "No such image: "+name+".png", "invalid_request_error", "", "")
		return
	}
	img := gradientPNG(uint32(rgb))
	h := w.Header()
	h["Content-Type"] = []string{"image/png"}
	h["Content-Length"] = []string{strconv.Itoa(len(img))}
	h["Cache-Control"] = []string{"public, max-age=86400"}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(img)
}

func hex6(rgb uint32) string {
	s := strconv.FormatUint(uint64(rgb)|1<<24, 16)
	return s[1:]
}

// gradientPNG draws a diagonal gradient from rgb to a darker shade.
func gradientPNG(rgb uint32) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, imageSide, imageSide))
	r, g, b := uint8(rgb>>16), uint8(rgb>>8), uint8(rgb)
	for y := range imageSide {
		for x := range imageSide {
			f := 255 - (x+y)*96/(2*imageSide) // 255 down to ~160
			img.SetNRGBA(x, y, color.NRGBA{uint8(int(r) * f / 255), uint8(int(g) * f / 255), uint8(int(b) * f / 255), 255})
		}
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	_ = enc.Encode(&buf, img) // writing to memory cannot fail
	return buf.Bytes()
}
