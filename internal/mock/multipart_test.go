package mock

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// formPart is one part of a test form: a file when filename is set.
type formPart struct {
	name, filename, value string
}

// multipartBody builds a multipart/form-data body and its Content-Type.
func multipartBody(t testing.TB, parts ...formPart) (string, string) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, p := range parts {
		var err error
		if p.filename != "" {
			fw, e := w.CreateFormFile(p.name, p.filename)
			if e == nil {
				_, e = fw.Write([]byte(p.value))
			}
			err = e
		} else {
			err = w.WriteField(p.name, p.value)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String(), w.FormDataContentType()
}

// postForm sends a multipart form and reads the whole answer.
func postForm(t *testing.T, ts interface{ Client() *http.Client }, url string, parts ...formPart) (*http.Response, []byte) {
	t.Helper()
	body, ct := multipartBody(t, parts...)
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ct)
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	if _, err := out.ReadFrom(resp.Body); err != nil {
		t.Fatalf("POST %s: reading: %v", url, err)
	}
	return resp, out.Bytes()
}

func TestReadForm(t *testing.T) {
	body, ct := multipartBody(t,
		formPart{name: "model", value: "whisper-1"},
		formPart{name: "timestamp_granularities[]", value: "word"},
		formPart{name: "timestamp_granularities[]", value: "segment"},
		formPart{name: "file", filename: "a.mp3", value: "abcdef"},
		formPart{name: "image[]", filename: "b.png", value: "xy"},
	)
	f, err := readForm(ct, []byte(body), formOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := f.value("model"), "whisper-1"; got != want {
		t.Errorf("model = %q, want %q", got, want)
	}
	if diff := cmp.Diff([]string{"word", "segment"}, f.values["timestamp_granularities[]"]); diff != "" {
		t.Errorf("granularities (-want +got):\n%s", diff)
	}
	files := f.filesOf("image", "image[]")
	if len(files) != 1 || files[0].filename != "b.png" || files[0].size != 2 {
		t.Errorf("images = %+v, want b.png of 2 bytes", files)
	}
	a, b := f.filesOf("file"), f.filesOf("image[]")
	if len(a) != 1 || a[0].size != 6 || a[0].hash == b[0].hash {
		t.Errorf("file = %+v, want 6 bytes hashed apart from the image", a)
	}

	for _, tt := range []struct{ name, ct, body string }{
		{"json", "application/json", `{}`},
		{"no boundary", "multipart/form-data", body},
		{"wrong boundary", "multipart/form-data; boundary=nope", body},
		{"truncated", ct, body[:len(body)/2]},
	} {
		if _, err := readForm(tt.ct, []byte(tt.body), formOptions{}); err == nil {
			t.Errorf("%s: readForm succeeded, want an error", tt.name)
		}
	}
}

// FuzzReadForm feeds arbitrary bodies to the form reader: it must fail or
// return fields within bounds.
func FuzzReadForm(f *testing.F) {
	body, ct := multipartBody(f, formPart{name: "model", value: "m"}, formPart{name: "file", filename: "x.wav", value: "RIFF"})
	boundary := strings.TrimPrefix(ct, "multipart/form-data; boundary=")
	f.Add(boundary, body)
	f.Add(boundary, "--"+boundary+"\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n--"+boundary+"--\r\n")
	f.Add("b", "--b--")
	f.Fuzz(func(t *testing.T, boundary, body string) {
		form, err := readForm("multipart/form-data; boundary="+boundary, []byte(body), formOptions{keepFiles: true})
		if err != nil {
			return
		}
		for name, vs := range form.values {
			for _, v := range vs {
				if len(v) > maxFormValue || name == "" {
					t.Fatalf("field %q of %d bytes", name, len(v))
				}
			}
		}
		for _, ff := range form.files {
			if ff.size < 0 || ff.size > int64(len(body)) || ff.filename == "" || int64(len(ff.content)) != ff.size {
				t.Fatalf("file %+v from a %d-byte body", ff, len(body))
			}
		}
	})
}

// TestFileFormsBounded: files and upload parts read their forms with the
// same bounds as every other form: too many parts or an oversized text
// field get OpenAI's 400, and a good upload keeps the file's content.
func TestFileFormsBounded(t *testing.T) {
	_, ts := newTestServer(t, Options{})
	many := make([]formPart, 0, maxFormParts+1)
	for range maxFormParts + 1 {
		many = append(many, formPart{name: "purpose", value: "batch"})
	}
	long := formPart{name: "purpose", value: strings.Repeat("x", maxFormValue+1)}
	file := formPart{name: "file", filename: "in.jsonl", value: "{}\n"}
	tests := []struct {
		name  string
		parts []formPart
		want  int
	}{
		{"good", []formPart{file, {name: "purpose", value: "batch"}}, http.StatusOK},
		{"too many parts", append([]formPart{file}, many...), http.StatusBadRequest},
		{"oversized field", []formPart{file, long}, http.StatusBadRequest},
		{"no file", []formPart{{name: "purpose", value: "batch"}}, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := postForm(t, ts, ts.URL+"/v1/files", tt.parts...)
			if got := resp.StatusCode; got != tt.want {
				t.Fatalf("status = %d, want %d: %s", got, tt.want, body)
			}
			if tt.want == http.StatusOK && !bytes.Contains(body, []byte(`"bytes":3`)) {
				t.Errorf("file answer = %s, want its 3 bytes kept", body)
			}
		})
	}
}
