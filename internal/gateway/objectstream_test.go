package gateway

import (
	"bytes"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/spillwayhq/spillway/internal/apierror"
)

func multipartBody(t testing.TB, fields map[string]string, file string) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("file", "f.jsonl")
	_, _ = fw.Write([]byte(file))
	_ = mw.Close()
	return mw.Boundary(), buf.Bytes()
}

// drain reads a formStream to its end in small reads, as a transport does.
func drain(f *formStream) ([]byte, error) {
	var out bytes.Buffer
	buf := make([]byte, 7)
	for {
		n, err := f.Read(buf)
		out.Write(buf[:n])
		if errors.Is(err, io.EOF) {
			return out.Bytes(), nil
		}
		if err != nil {
			return out.Bytes(), err
		}
	}
}

func TestFormStream(t *testing.T) {
	boundary, good := multipartBody(t, map[string]string{"purpose": "batch"}, strings.Repeat("line\n", 1000))
	tests := []struct {
		name    string
		body    []byte
		limit   int64
		wantErr string // the apierror code; "" for none
	}{
		{"whole form", good, 1 << 20, ""},
		{"trailing bytes after the end", append(append([]byte(nil), good...), "epilogue"...), 1 << 20, ""},
		{"truncated", good[:len(good)-10], 1 << 20, "invalid_multipart"},
		{"cut in the file", good[:len(good)/2], 1 << 20, "invalid_multipart"},
		{"not a form", []byte("hello"), 1 << 20, "invalid_multipart"},
		{"empty", nil, 1 << 20, "invalid_multipart"},
		{"over the limit", good, 100, "file_too_large"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := http.MaxBytesReader(httptest.NewRecorder(), io.NopCloser(bytes.NewReader(tc.body)), tc.limit)
			f := newFormStream(src, boundary)
			got, err := drain(f)
			f.wait()
			var e *apierror.Error
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("got %v, want the whole body", err)
			case tc.wantErr == "" && !bytes.Equal(got, tc.body):
				t.Errorf("passed %d bytes on, want the %d sent, unchanged", len(got), len(tc.body))
			case tc.wantErr != "" && (!errors.As(err, &e) || e.Code != tc.wantErr):
				t.Errorf("got %v, want an error coded %s", err, tc.wantErr)
			case tc.wantErr != "" && f.failure() == nil:
				t.Error("failure() is nil after a failed read")
			}
		})
	}
}

// TestFormStreamClosedEarly: a transport that stops reading (the upstream
// answered first) closes the body, and the parser ends.
func TestFormStreamClosedEarly(t *testing.T) {
	boundary, good := multipartBody(t, nil, strings.Repeat("x", 1<<16))
	f := newFormStream(bytes.NewReader(good), boundary)
	buf := make([]byte, 100)
	if _, err := f.Read(buf); err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
	f.wait() // returns: the parser saw the close
}

// FuzzFormStream: whatever the body, the stream passes on exactly what
// it read, agrees with mime/multipart on whether the form is whole, and
// never hangs or panics.
func FuzzFormStream(f *testing.F) {
	boundary, good := multipartBody(f, map[string]string{"purpose": "batch"}, "a\nb\n")
	f.Add(good)
	f.Add(good[:len(good)-3])
	f.Add([]byte("--" + boundary + "\r\n\r\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, body []byte) {
		fs := newFormStream(bytes.NewReader(body), boundary)
		got, err := drain(fs)
		fs.wait()
		want := parseForm(bytes.NewReader(body), boundary)
		if (err == nil) != (want == nil) {
			t.Fatalf("stream error %v, parser error %v: they must agree", err, want)
		}
		if err == nil && !bytes.Equal(got, body) {
			t.Fatalf("passed on %q, want %q", got, body)
		}
	})
}
