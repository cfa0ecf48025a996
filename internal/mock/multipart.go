package mock

import (
	"bytes"
	"errors"
	"hash/fnv"
	"io"
	"mime"
	"mime/multipart"
	"strconv"
)

// Audio transcriptions and translations, image edits and variations,
// files and upload parts take multipart/form-data. The mock reads the form
// from the body it already holds (bounded by the server's body limit),
// keeping text fields and the size and a hash of each file, and the file's
// content only where it stores it (files, upload parts).

const (
	// maxFormParts bounds the parts of a form.
	maxFormParts = 1000
	// maxFormValue bounds one text field.
	maxFormValue = 1 << 20
)

// formFile is an uploaded file as the mock keeps it.
type formFile struct {
	field, filename, contentType string
	size                         int64
	hash                         uint64 // FNV-1a of the content
	content                      []byte // only when the reader was asked to keep it
}

// form is a parsed multipart/form-data body.
type form struct {
	values map[string][]string
	files  []formFile
}

// value is the first value of the text field name, or "".
func (f *form) value(name string) string {
	if v := f.values[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// filesOf returns the files sent under any of the field names.
func (f *form) filesOf(names ...string) []formFile {
	var out []formFile
	for _, ff := range f.files {
		for _, n := range names {
			if ff.field == n {
				out = append(out, ff)
				break
			}
		}
	}
	return out
}

var errNotMultipart = errors.New("not multipart/form-data")

// formOptions say what readForm keeps.
type formOptions struct {
	// keepFiles keeps each file's content in formFile.content.
	keepFiles bool
}

// readForm parses body, sent with the Content-Type contentType, as
// multipart/form-data. A part with a file name is a file; others are
// text fields.
func readForm(contentType string, body []byte, opt formOptions) (*form, error) {
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil || mediaType != "multipart/form-data" {
		return nil, errNotMultipart
	}
	boundary := params["boundary"]
	if boundary == "" {
		return nil, errors.New("no boundary in the Content-Type")
	}
	f := &form{values: map[string][]string{}}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	for n := 0; ; n++ {
		p, err := mr.NextPart()
		if err == io.EOF {
			return f, nil
		}
		if err != nil {
			return nil, err
		}
		if n >= maxFormParts {
			return nil, errors.New("more than " + strconv.Itoa(maxFormParts) + " parts")
		}
		name := p.FormName()
		if name == "" {
			continue
		}
		if p.FileName() != "" {
			h := fnv.New64a()
			var content *bytes.Buffer
			var w io.Writer = h
			if opt.keepFiles {
				content = new(bytes.Buffer)
				w = io.MultiWriter(h, content)
			}
			size, err := io.Copy(w, p)
			if err != nil {
				return nil, err
			}
			ff := formFile{field: name, filename: p.FileName(), contentType: p.Header.Get("Content-Type"), size: size, hash: h.Sum64()}
			if content != nil {
				ff.content = content.Bytes()
			}
			f.files = append(f.files, ff)
			continue
		}
		v, err := io.ReadAll(io.LimitReader(p, maxFormValue+1))
		if err != nil {
			return nil, err
		}
		if len(v) > maxFormValue {
			return nil, errors.New("field '" + name + "' is longer than " + strconv.Itoa(maxFormValue) + " bytes")
		}
		f.values[name] = append(f.values[name], string(v))
	}
}

// readMultipart parses the request body as a form. On failure it has
// written OpenAI's 400 and returns false.
func (c *call) readMultipart(opt formOptions) (*form, bool) {
	ct := c.r.Header.Get("Content-Type")
	f, err := readForm(ct, c.body, opt)
	switch {
	case errors.Is(err, errNotMultipart):
		badRequest(c.w, "Invalid Content-Type header ("+ct+"), expected multipart/form-data. (HINT: If you're using curl, you can pass -H 'Content-Type: multipart/form-data')", "", "")
		return nil, false
	case err != nil:
		badRequest(c.w, "Could not parse multipart form: "+err.Error(), "", "")
		return nil, false
	}
	return f, true
}

// requireFormModel returns the model to answer as: the deployment on the
// Azure deployment routes, else the form's model field.
func (c *call) requireFormModel(f *form) (string, bool) {
	if c.route.shape == shapeAzure {
		return c.route.name, true
	}
	if m := f.value("model"); m != "" {
		return m, true
	}
	badRequest(c.w, "Missing required parameter: 'model'.", "model", "missing_required_parameter")
	return "", false
}

// requireFile returns the first file sent as one of names; it writes
// OpenAI's 400 naming names[0] when there is none.
func (c *call) requireFile(f *form, names ...string) ([]formFile, bool) {
	files := f.filesOf(names...)
	if len(files) == 0 {
		badRequest(c.w, "Missing required parameter: '"+names[0]+"'.", names[0], "missing_required_parameter")
		return nil, false
	}
	return files, true
}
