package gateway

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"sync/atomic"

	"github.com/spillwayhq/spillway/internal/apierror"
)

// A file upload (POST /v1/files, an upload's parts) can be hundreds of
// megabytes: it is streamed to the one deployment picked for it as it
// arrives, never held whole. Its multipart framing is parsed on the way,
// by a goroutine reading a copy of every chunk, so a malformed or
// truncated body fails the upstream request and the client gets the
// gateway's own 400 (or 413 past the limit), not whatever the upstream
// makes of half a form.

// formStream is a multipart request body checked as it is read.
type formStream struct {
	src  io.Reader
	pw   *io.PipeWriter
	done chan error // the parser's verdict, once
	// failed is why the body failed, for the client's answer (malformed,
	// too large); set by the transport's goroutine, read by the gateway's.
	failed atomic.Pointer[apierror.Error]
}

// checkStreamForm checks a streamed body's Content-Type before anything
// is sent, and its declared length against limit.
func checkStreamForm(r *http.Request, limit int64) (boundary string, err error) {
	ct := r.Header.Get("Content-Type")
	mt, params, perr := mime.ParseMediaType(ct)
	if perr != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return "", errBadRequest("Content-Type", "invalid_value", "this operation takes a multipart/form-data body with a boundary, not %s", quoteOrNone(ct))
	}
	if r.ContentLength > limit {
		return "", errUploadTooLarge(limit)
	}
	return params["boundary"], nil
}

// newFormStream reads src (already bounded by http.MaxBytesReader) and
// checks it as a multipart body with boundary. Close ends the parser.
func newFormStream(src io.Reader, boundary string) *formStream {
	pr, pw := io.Pipe()
	f := &formStream{src: src, pw: pw, done: make(chan error, 1)}
	go func() {
		err := parseForm(pr, boundary)
		// Later writes fail with the parser's error, or with errFormDone
		// once it has seen the whole form.
		if err != nil {
			_ = pr.CloseWithError(err)
		} else {
			_ = pr.CloseWithError(errFormDone)
		}
		f.done <- err
	}()
	return f
}

// errFormDone is what writes see once the parser has stopped.
var errFormDone = errors.New("multipart body checked")

func parseForm(r io.Reader, boundary string) error {
	mr := multipart.NewReader(r, boundary)
	parts := 0
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			if parts == 0 {
				return errors.New("the form has no parts")
			}
			return nil
		}
		if err != nil {
			return err
		}
		parts++
		if _, err := io.Copy(io.Discard, p); err != nil {
			return err
		}
	}
}

func (f *formStream) Read(p []byte) (int, error) {
	if e := f.failed.Load(); e != nil {
		return 0, e
	}
	n, err := f.src.Read(p)
	if n > 0 {
		// errFormDone: the parser saw the closing boundary, and every
		// multipart reader ignores what follows it.
		if _, werr := f.pw.Write(p[:n]); werr != nil && !errors.Is(werr, errFormDone) {
			return 0, f.fail(werr)
		}
	}
	switch {
	case errors.Is(err, io.EOF):
		_ = f.pw.Close()
		if perr := <-f.done; perr != nil {
			f.done <- perr
			return 0, f.fail(perr)
		}
		f.done <- nil
		return n, io.EOF
	case err != nil:
		return n, f.fail(err)
	}
	return n, nil
}

// fail records why the body failed and returns it.
func (f *formStream) fail(err error) error {
	var tooLarge *http.MaxBytesError
	e := &apierror.Error{Status: http.StatusBadRequest, Message: "the multipart body is malformed or truncated: " + err.Error(), Type: apierror.TypeInvalidRequest, Param: "body", Code: "invalid_multipart"}
	if errors.As(err, &tooLarge) {
		e = errUploadTooLarge(tooLarge.Limit)
	}
	f.failed.CompareAndSwap(nil, e)
	_ = f.pw.CloseWithError(e)
	return f.failed.Load()
}

// failure is why the body failed, or nil.
func (f *formStream) failure() error {
	if e := f.failed.Load(); e != nil {
		return e
	}
	return nil
}

// Close ends the parser, whatever it has read. The transport calls it
// when the request is done.
func (f *formStream) Close() error {
	_ = f.pw.CloseWithError(errFormDone)
	return nil
}

// wait waits for the parser to stop, so no goroutine outlives the request.
func (f *formStream) wait() {
	_ = f.Close()
	err := <-f.done
	f.done <- err
}

func errUploadTooLarge(limit int64) *apierror.Error {
	return &apierror.Error{
		Status:  http.StatusRequestEntityTooLarge,
		Message: fmt.Sprintf("the upload is larger than the limit of %d bytes for this operation; split it with POST /v1/uploads and parts", limit),
		Type:    apierror.TypeInvalidRequest,
		Param:   "file",
		Code:    "file_too_large",
	}
}

// uploadFailure is why the streamed body failed, or nil.
func (req *exchange) uploadFailure() error {
	if req.upload == nil {
		return nil
	}
	return req.upload.failure()
}
