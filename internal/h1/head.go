package h1

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strconv"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// writeRequest writes r to bw as (*http.Request).Write does, byte for
// byte, and closes r's body, as that does. Request.Write formats the
// request line and Host with fmt.Fprintf and sorts the header keys
// through a pooled sorter, a few microseconds a request; here they are
// plain appends to the buffer, the keys sorted in an array on the stack.
//
// What it mirrors of Request.write (net/http/request.go) and its
// transferWriter (transfer.go):
//   - the request line: the method ("GET" when empty), r.URL.RequestURI(),
//     refused when it holds a control character;
//   - Host: r.Host, else r.URL.Host; sent empty when not a valid Host
//     header (httpguts.ValidHostHeader), an IPv6 zone removed;
//   - User-Agent: r.Header's first one, none when it is empty, else
//     "Go-http-client/1.1";
//   - Content-Length: the body's length, or 0 for a POST, PUT or PATCH
//     without one; never Transfer-Encoding (see own);
//   - the other fields in the order of their names, those above and
//     Trailer skipped, a name that is not a token dropped, CR and LF in a
//     value turned to spaces and the value trimmed;
//   - the body: ContentLength bytes of it, the rest read and counted, an
//     error when the two differ.
//
// The one difference is not on the wire: Request.Write flushes the head
// on its own before a body it does not know is in memory; here the body
// follows in the same buffer, as it does for a *bytes.Reader.
//
// src is where the body is read from as it is copied (the connection's
// own, for nothing to be allocated per request).
func writeRequest(bw *bufio.Writer, r *http.Request, src *bodyReader) error {
	host, ok := own(r)
	if !ok {
		return r.Write(bw)
	}
	if !httpguts.ValidHostHeader(host) {
		// Request.Write's answer to a Host that could smuggle a line
		// (go.dev/issue/61431): an empty one.
		host = ""
	}
	host = removeZone(host)

	// The request URI as u.RequestURI() puts it together, in pieces, for
	// the concatenation it allocates.
	u := r.URL
	var scheme, path string
	if u.Opaque == "" {
		if path = u.EscapedPath(); path == "" {
			path = "/"
		}
	} else {
		path = u.Opaque
		if strings.HasPrefix(path, "//") {
			scheme = u.Scheme
		}
	}
	query := u.ForceQuery || u.RawQuery != ""
	if hasCTL(scheme) || hasCTL(path) || query && hasCTL(u.RawQuery) {
		closeBody(r)
		return errURLControl
	}

	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	bw.WriteString(method)
	bw.WriteByte(' ')
	if scheme != "" {
		bw.WriteString(scheme)
		bw.WriteByte(':')
	}
	bw.WriteString(path)
	if query {
		bw.WriteByte('?')
		bw.WriteString(u.RawQuery)
	}
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(host)
	bw.WriteString("\r\n")

	ua := defaultUserAgent
	if v, ok := r.Header["User-Agent"]; ok {
		ua = ""
		if len(v) > 0 {
			ua = v[0]
		}
	}
	if ua != "" {
		writeField(bw, "User-Agent", ua)
	}

	if r.ContentLength > 0 && r.Body != http.NoBody {
		bw.WriteString("Content-Length: ")
		bw.Write(strconv.AppendInt(bw.AvailableBuffer(), r.ContentLength, 10))
		bw.WriteString("\r\n")
	} else if method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch {
		// What many servers expect of these methods, says net/http.
		bw.WriteString("Content-Length: 0\r\n")
	}

	writeFields(bw, r.Header)
	if _, err := bw.WriteString("\r\n"); err != nil {
		closeBody(r)
		return err
	}
	return writeBody(bw, r, src)
}

// defaultUserAgent is net/http's User-Agent.
const defaultUserAgent = "Go-http-client/1.1"

var errURLControl = errors.New("h1: control character in the request's URL")

// own reports whether writeRequest writes r itself, and r's Host. It
// leaves to Request.Write what it would write otherwise than above:
//   - a Host that is not ASCII: Request.Write turns it to punycode (IDNA),
//     or refuses it;
//   - CONNECT, whose request URI may be the host;
//   - Close: a Connection: close added unless the header says so;
//   - TransferEncoding or Trailer set, or a body of unknown length
//     (ContentLength 0 with a Body): chunked, a body probed first, a
//     Trailer field;
//   - a nil Body with a ContentLength: Request.Write's error;
//   - a context with an httptrace.ClientTrace, whose WroteHeaderField,
//     WroteHeaders and WroteRequest Request.Write calls.
func own(r *http.Request) (string, bool) {
	if r.URL == nil || r.Method == http.MethodConnect || r.Close || r.TransferEncoding != nil || r.Trailer != nil {
		return "", false
	}
	switch {
	case r.Body == nil:
		if r.ContentLength != 0 {
			return "", false
		}
	case r.Body == http.NoBody:
	case r.ContentLength <= 0:
		return "", false
	}
	host := r.Host
	if host == "" {
		host = r.URL.Host
	}
	for i := 0; i < len(host); i++ {
		if host[i] >= 0x80 {
			return "", false
		}
	}
	return host, httptrace.ContextClientTrace(r.Context()) == nil
}

// field is a header field as writeFields sorts them.
type field struct {
	name   string
	values []string
}

// writeFields writes h's fields but those writeRequest writes itself, in
// the order of their names as Request.Write does. Order means nothing on
// the wire, and writing them in the map's order measured no faster for
// the gateway's request (BenchmarkWriteRequest, eight alternating runs:
// 1.12 µs sorted, 1.14 µs not); sorted, the bytes are Request.Write's,
// which the tests hold them to, and the same from one request to the next.
func writeFields(bw *bufio.Writer, h http.Header) {
	// A request's fields fit on the stack; more go to the heap.
	var stack [16]field
	fields := stack[:0]
	for name, values := range h {
		switch name {
		case "Host", "User-Agent", "Content-Length", "Transfer-Encoding", "Trailer":
			continue
		}
		fields = append(fields, field{name, values})
	}
	// Insertion sort: a dozen fields, mostly in order already.
	for i := 1; i < len(fields); i++ {
		for j := i; j > 0 && fields[j].name < fields[j-1].name; j-- {
			fields[j], fields[j-1] = fields[j-1], fields[j]
		}
	}
	for _, f := range fields {
		if !httpguts.ValidHeaderFieldName(f.name) {
			// Dropped by Request.Write; refused before, by check.
			continue
		}
		for _, v := range f.values {
			writeField(bw, f.name, v)
		}
	}
}

// writeField writes one header line, v on one line and trimmed.
func writeField(bw *bufio.Writer, name, v string) {
	if strings.ContainsAny(v, "\r\n") {
		// Refused before, by check; Request.Write makes them spaces.
		v = newlineToSpace.Replace(v)
	}
	bw.WriteString(name)
	bw.WriteString(": ")
	bw.WriteString(textproto.TrimString(v))
	bw.WriteString("\r\n")
}

// newlineToSpace is net/http's headerNewlineToSpace.
var newlineToSpace = strings.NewReplacer("\n", " ", "\r", " ")

// writeBody copies r's body (a nil one, http.NoBody or ContentLength
// bytes, own says) past the head, and closes it. A body longer than what
// the buffer has room for goes to the connection through writer.ReadFrom.
func writeBody(bw *bufio.Writer, r *http.Request, src *bodyReader) error {
	if r.Body == nil {
		return nil
	}
	if r.Body == http.NoBody {
		return r.Body.Close()
	}
	*src = bodyReader{r: r.Body, n: r.ContentLength}
	// Cleared after, so that an idle connection keeps no body.
	defer func() { *src = bodyReader{} }()
	n, err := bw.ReadFrom(src)
	if src.err != nil {
		closeBody(r)
		return bodyReadError{src.err}
	}
	if err != nil {
		closeBody(r)
		return err
	}
	// The rest is read, as Request.Write reads it, to say how long the
	// body was.
	src.n = 1<<63 - 1
	extra, _ := io.Copy(io.Discard, src)
	if src.err != nil {
		closeBody(r)
		return bodyReadError{src.err}
	}
	if err := r.Body.Close(); err != nil {
		return err
	}
	if n += extra; n != r.ContentLength {
		return fmt.Errorf("h1: ContentLength=%d with Body length %d", r.ContentLength, n)
	}
	return nil
}

func closeBody(r *http.Request) {
	if r.Body != nil {
		r.Body.Close()
	}
}

// bodyReader reads at most n bytes of a request's body, and keeps the
// error reading it apart from the connection's.
type bodyReader struct {
	r   io.Reader
	n   int64
	err error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if b.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.n {
		p = p[:b.n]
	}
	n, err := b.r.Read(p)
	b.n -= int64(n)
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}

// bodyReadError is an error reading the request's body: the request's
// own, never the connection's end (broke).
type bodyReadError struct{ err error }

func (e bodyReadError) Error() string { return "h1: reading the request body: " + e.err.Error() }
func (e bodyReadError) Unwrap() error { return e.err }

// removeZone is r's host without an IPv6 zone ("[fe80::1%en0]" is
// "[fe80::1]"), which RFC 6874 says a client must not send
// (net/http's removeZone).
func removeZone(host string) string {
	if !strings.HasPrefix(host, "[") {
		return host
	}
	i := strings.LastIndex(host, "]")
	if i < 0 {
		return host
	}
	j := strings.LastIndex(host[:i], "%")
	if j < 0 {
		return host
	}
	return host[:j] + host[i:]
}

// hasCTL reports whether s holds an ASCII control character.
func hasCTL(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] == 0x7f {
			return true
		}
	}
	return false
}

// check refuses what net/http's Transport refuses before sending
// (validateHeaders, validMethod): a method, or a header or trailer field
// name, that is not a token, and a value with a control character but
// tab. Request.Write would send such a method as it is, drop such a name
// and turn CR and LF to spaces; a request that asks for any of them is
// not the one it meant to send.
func check(r *http.Request) error {
	if r.Method != "" && !httpguts.ValidHeaderFieldName(r.Method) {
		return fmt.Errorf("h1: invalid method %q", r.Method)
	}
	if err := checkFields("header", r.Header); err != nil {
		return err
	}
	return checkFields("trailer", r.Trailer)
}

func checkFields(kind string, h http.Header) error {
	for name, values := range h {
		if !httpguts.ValidHeaderFieldName(name) {
			return fmt.Errorf("h1: invalid %s field name %q", kind, name)
		}
		for _, v := range values {
			if !httpguts.ValidHeaderFieldValue(v) {
				// Not the value: it may be a secret.
				return fmt.Errorf("h1: invalid %s field value for %q", kind, name)
			}
		}
	}
	return nil
}
