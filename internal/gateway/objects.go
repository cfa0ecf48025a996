package gateway

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"hash"
	"net/http"
	"strings"

	"github.com/spillwayhq/spillway/internal/apierror"
	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/store"
)

// Objects held upstream. A stored response (and later a file, batch or
// vector store) lives on the deployment that created it, and belongs to
// the key that asked for it. The gateway hands the client an id of its
// own that names both, signed with the operation key (derived from
// SPILLWAY_SECRET_KEY, the same on every replica):
//
//	{upstream prefix} "sw" base64url(deployment NUL owner NUL upstream id) "." base64url(HMAC-SHA256(key, "object" NUL payload)[:16])
//
// The upstream's prefix (resp_, file-, batch_) is kept so clients that
// look at it are not surprised. Any replica can then send a follow-up to
// the right deployment with no shared state, and a key that did not create
// the object, or a forged or altered id, gets the same 404 as an id that
// never existed. DALL-E 2 operation ids (operations.go) predate owners and
// keep their own format.

// objectRef is a decoded object id.
type objectRef struct {
	id         string // as the client knows it
	deployment string
	upstream   string
}

// objectMarker separates the upstream's prefix from the signed part.
const objectMarker = "sw"

// macState is a pooled HMAC-SHA256 state keyed with the operation key,
// with room for what it signs and its sum: what goes through a hash.Hash,
// an interface, escapes, so a payload or a sum on the stack cost an
// allocation each per signing (and the state itself several, unpooled).
type macState struct {
	h       hash.Hash
	payload []byte
	sum     [sha256.Size]byte
}

// maxPooledPayload bounds the payload buffer a pooled macState keeps.
const maxPooledPayload = 1 << 10

func (g *Gateway) getMAC() *macState {
	if s, ok := g.macs.Get().(*macState); ok {
		return s
	}
	return &macState{h: hmac.New(sha256.New, g.opKey)}
}

func (g *Gateway) putMAC(s *macState) {
	if cap(s.payload) > maxPooledPayload {
		s.payload = nil
	}
	g.macs.Put(s)
}

// objectMACLabel starts every object MAC's input.
var objectMACLabel = []byte("object\x00")

// objectMAC appends the MAC of payload to dst.
func (g *Gateway) objectMAC(dst, payload []byte) []byte {
	s := g.getMAC()
	dst = s.objectMAC(dst, payload)
	g.putMAC(s)
	return dst
}

func (s *macState) objectMAC(dst, payload []byte) []byte {
	s.h.Reset()
	s.h.Write(objectMACLabel)
	s.h.Write(payload)
	return append(dst, s.h.Sum(s.sum[:0])[:operationMACSize]...)
}

// objectEncoding is strict: one id has one spelling, so no two ids name
// the same object.
var objectEncoding = base64.RawURLEncoding.Strict()

// idPrefix is the upstream id's type prefix (resp_, file-), kept in the
// gateway's id.
func idPrefix(upstream string) string {
	if i := strings.IndexAny(upstream, "_-"); i > 0 && i < 16 {
		return upstream[:i+1]
	}
	return ""
}

// encodeObject returns the client-facing id of the upstream object id,
// created on deployment for owner.
func (g *Gateway) encodeObject(deployment, owner, upstream string) string {
	return string(g.appendObject(nil, deployment, owner, upstream))
}

// appendObject appends the client-facing id to dst, in one allocation
// when dst has none.
func (g *Gateway) appendObject(dst []byte, deployment, owner, upstream string) []byte {
	s := g.getMAC()
	defer g.putMAC(s)
	payload := append(s.payload[:0], deployment...)
	payload = append(payload, 0)
	payload = append(payload, owner...)
	payload = append(payload, 0)
	payload = append(payload, upstream...)
	s.payload = payload
	var macBuf [operationMACSize]byte
	mac := s.objectMAC(macBuf[:0], payload)
	prefix := idPrefix(upstream)
	if dst == nil {
		dst = make([]byte, 0, objectLen(deployment, owner, upstream))
	}
	dst = append(dst, prefix...)
	dst = append(dst, objectMarker...)
	dst = objectEncoding.AppendEncode(dst, payload)
	dst = append(dst, '.')
	return objectEncoding.AppendEncode(dst, mac)
}

// objectLen is the length of the client-facing id appendObject appends.
func objectLen(deployment, owner, upstream string) int {
	payload := len(deployment) + 1 + len(owner) + 1 + len(upstream)
	return len(idPrefix(upstream)) + len(objectMarker) + objectEncoding.EncodedLen(payload) + 1 + objectEncoding.EncodedLen(operationMACSize)
}

// decodeObject checks an id made by encodeObject and that owner made it.
// Any failure is the same false: the caller answers 404 either way.
func (g *Gateway) decodeObject(id, owner string) (objectRef, bool) {
	// The marker follows the upstream's prefix, or starts an id without
	// one; a prefix may hold "sw" itself (answer_), so it is not searched
	// for.
	for _, prefix := range []string{idPrefix(id), ""} {
		if ref, ok := g.decodeAfter(id, prefix, owner); ok {
			return ref, true
		}
	}
	return objectRef{}, false
}

// decodeAfter is decodeObject for an id read as prefix, marker, payload.
func (g *Gateway) decodeAfter(id, prefix, owner string) (objectRef, bool) {
	i := len(prefix)
	if !strings.HasPrefix(id[i:], objectMarker) {
		return objectRef{}, false
	}
	body, macText, ok := strings.Cut(id[i+len(objectMarker):], ".")
	if !ok {
		return objectRef{}, false
	}
	payload, err1 := objectEncoding.DecodeString(body)
	mac, err2 := objectEncoding.DecodeString(macText)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, g.objectMAC(nil, payload)) {
		return objectRef{}, false
	}
	parts := strings.SplitN(string(payload), "\x00", 3)
	if len(parts) != 3 || parts[0] == "" || parts[2] == "" || parts[1] != owner || id[:i] != idPrefix(parts[2]) {
		return objectRef{}, false
	}
	return objectRef{id: id, deployment: parts[0], upstream: parts[2]}, true
}

// ownerOf is the identity objects belong to: the key.
func ownerOf(p *auth.Principal) string { return p.KeyID }

// stampOwner writes who made an object into its registry entry: the key,
// and the key's team, event and attendee as they are now, for the usage
// a follower records for it later (stampPrincipal, for a request's own
// record).
func stampOwner(o *store.Object, p *auth.Principal) {
	o.KeyID = ownerOf(p)
	if p.Event != nil {
		o.EventID, o.Attendee = p.Event.ID, p.Attendee
	}
	if p.Team != nil {
		o.TeamID = p.Team.ID
	}
}

// errObjectNotFound answers an id that is unknown, forged, or another
// key's, in the words OpenAI uses.
func errObjectNotFound(kind, id, param string) error {
	return &apierror.Error{Status: http.StatusNotFound, Message: kind + " with id '" + id + "' not found.", Type: apierror.TypeInvalidRequest, Param: param, Code: "not_found"}
}

// errObjectGone answers an id whose deployment was removed.
func errObjectGone(kind, id, deployment, param string) error {
	return &apierror.Error{Status: http.StatusNotFound, Message: kind + " '" + id + "' was stored on deployment " + deployment + ", which no longer exists; the object cannot be reached", Type: apierror.TypeInvalidRequest, Param: param, Code: "object_deployment_gone"}
}
