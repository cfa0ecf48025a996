package h1

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// FuzzWriteRequest builds requests h1 takes (Handles) from fuzzed parts
// and holds writeRequest to (*http.Request).Write: both refuse the same
// requests, or both write the same bytes (fields in the same order,
// sorted, so the bytes, not only their parsed meaning, must agree). And
// check refuses what net/http's Transport refuses before it dials.
//
// fields is name:value entries separated by NUL; flags picks the URL's
// shape, the User-Agent, the body's kind and Close; lengthDelta is added
// to the body's length to make ContentLength.
func FuzzWriteRequest(f *testing.F) {
	f.Add("POST", "10.0.0.7:8080", "", "/openai/deployments/gpt-4o/chat/completions", "", "api-version=2024-10-21",
		"Content-Type:application/json\x00Api-Key:k\x00X-Request-Id:01JH4M3W8Q6V0Y7T2K9B5N1C3D\x00Accept:application/json", uint8(0x10), uint16(100), int8(0))
	f.Add("GET", "up", "", "/v1/models", "", "", "", uint8(0), uint16(0), int8(0))
	f.Add("", "up", "front", "/a b", "", "", "User-Agent:", uint8(0x04), uint16(0), int8(0))
	f.Add("PUT", "[fe80::1%en0]:80", "", "/x", "", "", "X-A:a\r\nX-Evil: 1\x00x-lower: v \x00Bad Name:v", uint8(0x20), uint16(3), int8(0))
	f.Add("POST", "up", "up/x y", "//other/p", "", "q", "Host:h\x00Content-Length:9\x00Transfer-Encoding:chunked\x00Trailer:X", uint8(0x03), uint16(700), int8(-1))
	f.Add("DELETE", "up", "bücher.example", "/%2F", "/%2F", "", "User-Agent: a\r\n", uint8(0x18), uint16(5), int8(2))
	f.Add("GE T", "up", "", "/", "", "a\x7fb", "X-A:\x00:", uint8(0x41), uint16(1), int8(0))
	f.Fuzz(func(t *testing.T, method, host, reqHost, path, rawPath, query, fields string, flags uint8, bodyLen uint16, lengthDelta int8) {
		mk := fuzzRequest(method, host, reqHost, path, rawPath, query, fields, flags, bodyLen, lengthDelta)
		r := mk()
		if r == nil || !(&Transport{}).Handles(r) {
			return
		}
		if got, want := check(mk()) != nil, transportRefuses(mk()); got != want {
			t.Fatalf("check refuses: %v, net/http's Transport: %v", got, want)
		}
		got, want, gotErr, wantErr := writeBoth(t, mk)
		if (gotErr != nil) != (wantErr != nil) {
			t.Fatalf("error %v, Request.Write's %v\nwrote %q\nRequest.Write wrote %q", gotErr, wantErr, got, want)
		}
		if gotErr == nil && got != want {
			t.Fatalf("wrote\n%q\nRequest.Write wrote\n%q", got, want)
		}
	})
}

// fuzzRequest makes the request FuzzWriteRequest's parts describe, anew
// for each writer; nil when they describe none.
//
// flags: 0x01 URL.Opaque is path, 0x02 ForceQuery, 0x04 an empty
// User-Agent unless fields have one, 0x08 a nil one; the body 0x10 bytes,
// 0x20 http.NoBody, else nil; 0x40 Close; 0x80 a body that fails after
// its first byte.
func fuzzRequest(method, host, reqHost, path, rawPath, query, fields string, flags uint8, bodyLen uint16, lengthDelta int8) func() *http.Request {
	return func() *http.Request {
		u := &url.URL{Scheme: "http", Host: host, Path: path, RawPath: rawPath, RawQuery: query, ForceQuery: flags&0x02 != 0}
		if flags&0x01 != 0 {
			u.Opaque, u.Path, u.RawPath = path, "", ""
		}
		r := &http.Request{Method: method, URL: u, Host: reqHost, Header: http.Header{}, Close: flags&0x40 != 0}
		for _, e := range strings.Split(fields, "\x00") {
			if name, value, ok := strings.Cut(e, ":"); ok {
				r.Header[name] = append(r.Header[name], value)
			}
		}
		if _, ok := r.Header["User-Agent"]; !ok && flags&0x04 != 0 {
			r.Header["User-Agent"] = []string{""}
		}
		if flags&0x08 != 0 {
			r.Header["User-Agent"] = nil
		}
		n := int(bodyLen) % (4 << 10)
		switch flags & 0x30 {
		case 0x10:
			body := bytes.Repeat([]byte("b"), n)
			var rd io.Reader = bytes.NewReader(body)
			if flags&0x80 != 0 && n > 0 {
				rd = io.MultiReader(bytes.NewReader(body[:1]), iotestErr{})
			}
			r.Body = io.NopCloser(rd)
			r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
			r.ContentLength = int64(n + int(lengthDelta))
		case 0x20:
			r.Body = http.NoBody
			r.GetBody = func() (io.ReadCloser, error) { return http.NoBody, nil }
			r.ContentLength = int64(lengthDelta)
		}
		return r
	}
}
