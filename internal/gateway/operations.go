package gateway

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spillwayhq/spillway/internal/apierror"
	"github.com/spillwayhq/spillway/internal/provider"
	"github.com/spillwayhq/spillway/internal/router"
)

// DALL-E 2 on Azure is asynchronous: POST /openai/images/generations:submit
// answers 202 with an operation-location, and the client polls
// GET /openai/operations/images/{id} until the job is done. The job exists
// only on the resource that accepted it, so every poll must reach that
// deployment, from whichever replica it lands on, with no shared state.
//
// The gateway therefore hands out its own operation id, which names the
// deployment and the upstream's id and is signed:
//
//	base64url(deployment id) "." base64url(upstream id) "." base64url(HMAC-SHA256(key, deployment id NUL upstream id)[:16])
//
// The key comes from SPILLWAY_SECRET_KEY (see OperationKey), the same on
// every replica; a client cannot forge an id that steers a poll to another
// deployment. Submissions go through the normal attempt loop (a 429 tries
// the next deployment: the job was not accepted); polls go to the one
// deployment and pass its answer through, whatever it is.

// Path values the operation route sets for the attempt loop.
const (
	pathDeployment        = "spillway_deployment"
	pathUpstreamOperation = "spillway_upstream_operation"
	pathOperation         = "operation"
)

// operationsPath is where the gateway's operation-location points.
const operationsPath = "/openai/operations/images/"

// operationKeyLabel separates this use of the secret key from others.
const operationKeyLabel = "spillway image operation ids v1"

// OperationKey derives the key that signs DALL-E 2 operation ids from the
// gateway's secret key (SPILLWAY_SECRET_KEY). With no secret key it
// returns nil, and New makes a random key per process: polls then only
// work on the replica that took the submission.
func OperationKey(secretKey []byte) []byte {
	if len(secretKey) == 0 {
		return nil
	}
	m := hmac.New(sha256.New, secretKey)
	m.Write([]byte(operationKeyLabel))
	return m.Sum(nil)
}

func randomOperationKey() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return k
}

const operationMACSize = 16

func (g *Gateway) operationMAC(deployment, upstream string) []byte {
	m := hmac.New(sha256.New, g.opKey)
	m.Write([]byte(deployment))
	m.Write([]byte{0})
	m.Write([]byte(upstream))
	return m.Sum(nil)[:operationMACSize]
}

// encodeOperation returns the client-facing id of an upstream job.
func (g *Gateway) encodeOperation(deployment, upstream string) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(deployment)) + "." + enc.EncodeToString([]byte(upstream)) + "." + enc.EncodeToString(g.operationMAC(deployment, upstream))
}

var errBadOperation = errors.New("not an operation id issued by this gateway")

// decodeOperation checks and splits an id made by encodeOperation.
func (g *Gateway) decodeOperation(id string) (deployment, upstream string, err error) {
	parts := strings.Split(id, ".")
	if len(parts) != 3 {
		return "", "", errBadOperation
	}
	enc := base64.RawURLEncoding
	d, err1 := enc.DecodeString(parts[0])
	u, err2 := enc.DecodeString(parts[1])
	mac, err3 := enc.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil || len(d) == 0 || len(u) == 0 {
		return "", "", errBadOperation
	}
	if !hmac.Equal(mac, g.operationMAC(string(d), string(u))) {
		return "", "", errBadOperation
	}
	return string(d), string(u), nil
}

// imageOperation resolves a poll's operation id before the endpoint runs:
// the deployment's model becomes the request's model (for access rules and
// usage), and the deployment and upstream id are kept for forwardSticky.
// An id this gateway did not sign, or whose deployment is gone, gets 404.
func (g *Gateway) imageOperation(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dep, up, err := g.decodeOperation(r.PathValue(pathOperation))
		if err != nil {
			apierror.Write(w, errOperationNotFound("unknown operation id; poll the operation-location the submission returned"))
			return
		}
		d, ok := g.router.Deployment(dep)
		if !ok {
			apierror.Write(w, errOperationNotFound("the deployment that accepted this job ("+dep+") no longer exists"))
			return
		}
		r.SetPathValue("model", d.Config.Model)
		r.SetPathValue(pathDeployment, dep)
		r.SetPathValue(pathUpstreamOperation, up)
		next.ServeHTTP(w, r)
	})
}

func errOperationNotFound(msg string) error {
	return &apierror.Error{Status: http.StatusNotFound, Message: msg, Type: apierror.TypeInvalidRequest, Param: "operation_id", Code: "operation_not_found"}
}

// forwardSticky sends a follow-up to the deployment that holds its object
// (a DALL-E 2 job, a stored response), the only one that knows it,
// whatever its cooldown. Its answer goes to the client whatever it is (a
// 429 cools the deployment as usual, and the client tries again later);
// only a failure with no answer at all becomes the gateway's 502/504.
func (g *Gateway) forwardSticky(req *exchange) error {
	pick, ok := g.router.Stick(req.sticky)
	if !ok {
		return errObjectGone("object", req.object.id, req.sticky, "")
	}
	req.res.attempts = 1
	up, o := g.attempt(req, pick)
	if err := req.uploadFailure(); err != nil {
		// The client's body was bad, not the deployment.
		g.router.Report(pick, router.Outcome{Verdict: router.ClientGone}, up.latency)
		up.close()
		return err
	}
	switch {
	case o.Verdict == router.ClientGone:
		g.router.Report(pick, g.router.Abandoned(pick, o, up.waited), 0)
		up.close()
		return errClientGone
	case up.resp != nil:
		return g.respond(req, pick, up, o)
	}
	g.router.Report(pick, o, up.latency)
	up.close()
	req.w.Header().Set("X-Spillway-Attempts", "1")
	kind := router.Failed
	if o.Verdict == router.AuthFailed {
		kind = router.CredentialsRejected
	}
	return g.exhausted(req, router.Exhaustion{Kind: kind, Attempts: 1, Last: o}, up.err)
}

// maxOperationBody bounds a submission's or poll's answer, which the
// gateway reads whole to rewrite its id.
const maxOperationBody = 1 << 20

// respondOperation sends a submission's or poll's answer with the
// upstream's job id replaced by the gateway's, in the operation-location
// header and the body's "id". Error answers pass through untouched.
func (g *Gateway) respondOperation(req *exchange, pick router.Pick, up *upstream, o router.Outcome) error {
	defer up.close()
	w, r, res := req.w, req.r, &req.res
	body := append([]byte(nil), up.head...)
	rest, err := io.ReadAll(io.LimitReader(up.body(), maxOperationBody))
	body = append(body, rest...)
	if err != nil {
		fail := router.ClassifyError(r.Context(), err)
		g.router.Report(pick, fail, up.latency)
		if fail.Verdict == router.ClientGone {
			return errClientGone
		}
		return &apierror.Error{Status: http.StatusBadGateway, Message: "the upstream's answer broke off: " + fail.Reason, Type: apierror.TypeUpstream, Code: "upstream_error"}
	}
	h := g.answerHeader(req, pick, up)
	ok := up.resp.StatusCode >= 200 && up.resp.StatusCode <= 299
	if ok {
		id := ""
		if loc := up.resp.Header.Get("Operation-Location"); loc != "" {
			if u, err := url.Parse(loc); err == nil {
				upID := u.Path[strings.LastIndexByte(u.Path, '/')+1:]
				id = g.encodeOperation(pick.ID(), upID)
				h.Set("Operation-Location", gatewayBase(r)+operationsPath+id+queryOf(u))
			}
		}
		if id == "" && req.op == provider.ImageOperation {
			id = r.PathValue(pathOperation)
		}
		if id != "" {
			if b, replaced := replaceTopLevelString(body, "id", id); replaced {
				body = b
			}
		}
		h.Set("Content-Length", strconv.Itoa(len(body)))
	}
	w.WriteHeader(res.status)
	res.ttfb = time.Since(req.start)
	_, werr := w.Write(body)
	if up.span != nil {
		up.endSpan(o, nil)
	}
	if werr != nil {
		g.router.Report(pick, router.Outcome{Verdict: router.ClientGone}, up.latency)
		return errClientGone
	}
	g.router.Report(pick, o, up.latency)
	return nil
}

func queryOf(u *url.URL) string {
	if u.RawQuery == "" {
		return ""
	}
	return "?" + u.RawQuery
}

// gatewayBase is the scheme and host the client reached the gateway by,
// for URLs that point back at it. X-Forwarded-Proto and X-Forwarded-Host
// from a TLS-terminating proxy are honoured: the URL only tells the client
// where to poll, and the id in it is signed.
func gatewayBase(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		scheme = "https"
	}
	host := r.Host
	if fh := r.Header.Get("X-Forwarded-Host"); fh != "" {
		host, _, _ = strings.Cut(fh, ",")
		host = strings.TrimSpace(host)
	}
	return scheme + "://" + host
}

// replaceTopLevelString returns body with the value of its top-level field
// key replaced by the JSON string v, splicing rather than re-encoding so
// the rest of the body is untouched. It reports false when body is not a
// JSON object or has no such field.
func replaceTopLevelString(body []byte, key, v string) ([]byte, bool) {
	s := scanner{b: body}
	s.ws()
	if s.i >= len(body) || body[s.i] != '{' {
		return body, false
	}
	start, end := -1, -1
	err := s.object(0, func(rawKey []byte, escaped bool, vs, ve int) error {
		if !escaped && string(rawKey[1:len(rawKey)-1]) == key && start < 0 {
			start, end = vs, ve
		}
		return nil
	})
	if err != nil || start < 0 {
		return body, false
	}
	q := strconv.Quote(v) // v is base64url and dots: plain ASCII
	return splice(body, start, end, []byte(q)), true
}
