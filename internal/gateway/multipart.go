package gateway

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"strings"
)

// Multipart bodies (audio transcriptions, image edits) are read whole, as
// JSON bodies are, and forwarded byte for byte; the gateway only needs the
// model and stream form fields, and where the model's value lies so an
// upstream that wants another model name can have it spliced in.

// maxFormField bounds the text fields the gateway reads.
const maxFormField = 1 << 10

// peekMultipart reads a multipart/form-data body. It fails with a
// *fieldError naming what is wrong when the content type is not
// multipart/form-data with a boundary, or the body is not a complete
// multipart message.
func peekMultipart(contentType string, body []byte) (peeked, error) {
	p := noPeek
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return p, &fieldError{field: "Content-Type", msg: "this operation takes a multipart/form-data body with a boundary, not " + quoteOrNone(contentType)}
	}
	boundary := params["boundary"]
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return p, &fieldError{field: "body", msg: "the multipart body is malformed or truncated: " + err.Error()}
		}
		name := part.FormName()
		if part.FileName() != "" || (name != "model" && name != "stream" && name != "user") {
			// Read through it, so a truncated file is noticed.
			if _, err := io.Copy(io.Discard, part); err != nil {
				return p, &fieldError{field: "body", msg: "the multipart body is malformed or truncated in part " + quoteOrNone(name) + ": " + err.Error()}
			}
			continue
		}
		v, err := io.ReadAll(io.LimitReader(part, maxFormField+1))
		if err != nil {
			return p, &fieldError{field: "body", msg: "the multipart body is malformed or truncated in part " + quoteOrNone(name) + ": " + err.Error()}
		}
		if len(v) > maxFormField {
			return p, &fieldError{field: name, msg: "the form field " + name + " is too long"}
		}
		switch name {
		case "model":
			p.Model = string(v)
		case "stream":
			p.Stream = strings.EqualFold(string(v), "true")
		case "user":
			p.User = string(v)
		}
	}
	if p.Model != "" {
		p.modelStart, p.modelEnd = formValueSpan(body, boundary, "model")
	}
	return p, nil
}

// formValueSpan finds the value of the last text field name in a
// well-formed multipart body, as mime/multipart read it: the bytes between
// the part's blank line and the next boundary's CRLF. It returns -1, -1
// when it cannot be found plainly (a field spelled with other quoting).
func formValueSpan(body []byte, boundary, name string) (int, int) {
	delim := []byte("\r\n--" + boundary)
	header := []byte(`name="` + name + `"`)
	start, end := -1, -1
	// Parts begin after each delimiter; the first may lack the CRLF.
	i := bytes.Index(body, delim[2:])
	for i >= 0 {
		hs := i + len(delim) - 2
		he := bytes.Index(body[hs:], []byte("\r\n\r\n"))
		if he < 0 {
			break
		}
		headers := body[hs : hs+he]
		vs := hs + he + 4
		next := bytes.Index(body[vs:], delim)
		if next < 0 {
			break
		}
		if bytes.Contains(headers, header) && !bytes.Contains(headers, []byte("filename=")) {
			start, end = vs, vs+next
		}
		i = vs + next + 2
	}
	return start, end
}

// withFormModel returns a multipart body with its model value replaced;
// a body whose model could not be located is returned as it is.
func withFormModel(body []byte, p peeked, model string) []byte {
	if p.modelStart < 0 {
		return body
	}
	return splice(body, p.modelStart, p.modelEnd, []byte(model))
}

func quoteOrNone(s string) string {
	if s == "" {
		return "none"
	}
	return "\"" + s + "\""
}
