package gateway

import (
	"encoding/json"
	"net/http"
	"slices"

	"github.com/spillwayhq/spillway/internal/access"
	"github.com/spillwayhq/spillway/internal/apierror"
	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/provider"
)

// Where a new object goes. A file or an upload names no model, so the
// gateway picks a deployment for it from a model's pool: the model the
// client names (the query's ?model= or an X-Spillway-Model header), else
// the first model, by name, that the caller may use and that has a chat
// deployment. Every later call finds it by its signed id. An object made
// from others (a batch from its input file, an upload's file from its
// parts) goes where those are: objects used together must share a
// deployment, as they share an upstream account.

// objectName is how errors name an object kind, and the parameter that
// carries its id.
type objectName struct{ name, param string }

var objectNames = map[string]objectName{
	"":             {"Response", "response_id"},
	"file":         {"File", "file_id"},
	"upload":       {"Upload", "upload_id"},
	"batch":        {"Batch", "batch_id"},
	"vector_store": {"Vector store", "vector_store_id"},
	"conversation": {"Conversation", "conversation_id"},
}

// subNames name the objects below others, by the path that leads to them.
var subNames = map[string]string{"/files": "File", "/file_batches": "File batch", "/items": "Item"}

// modelHeader names the model whose pool a new file or upload goes to.
const modelHeader = "X-Spillway-Model"

// placeObject decides where a request that creates an object goes.
func (g *Gateway) placeObject(r *http.Request, req *exchange) error {
	if req.spec.Body == provider.BodyJSON {
		if err := g.translateIDs(req); err != nil {
			return err
		}
	}
	if req.sticky != "" {
		return nil
	}
	if req.op == provider.BatchCreate {
		return errBadRequest("input_file_id", "missing_required_parameter", "a batch needs input_file_id: the id of a file uploaded through this gateway with purpose \"batch\"")
	}
	model := r.URL.Query().Get("model")
	if model == "" {
		model = r.Header.Get(modelHeader)
	}
	if model == "" {
		model = g.defaultObjectModel(req.principal)
	}
	if model == "" {
		return errBadRequest("model", "no_object_deployment", "none of the models your key may use has a chat deployment to hold files; ask the operator for one, or name a model with ?model=")
	}
	req.model = model
	return nil
}

// defaultObjectModel is the first model, by name, the caller may use that
// has a chat deployment.
func (g *Gateway) defaultObjectModel(p *auth.Principal) string {
	models := g.router.Models()
	allowed := access.Models(p)
	for _, m := range models {
		if allowed != nil && !slices.Contains(allowed, m) {
			continue
		}
		if _, err := g.router.Pool(m, config.ClassChat); err == nil {
			return m
		}
	}
	return ""
}

// idFields are the request fields that name objects by the gateway's id,
// with whether they hold a list.
var idFields = []struct {
	name string
	list bool
}{{"input_file_id", false}, {"file_id", false}, {"part_ids", true}, {"file_ids", true}}

// translateIDs replaces the gateway's ids in a JSON request body by the
// upstream's, after checking that the caller owns each and that they all
// live where the request goes. The first id decides where that is when
// the request is not already bound to an object.
func (g *Gateway) translateIDs(req *exchange) error {
	var body map[string]json.RawMessage
	if len(req.body) == 0 || json.Unmarshal(req.body, &body) != nil {
		return nil // peekCap has already answered a body that is not an object
	}
	changed := false
	for _, f := range idFields {
		raw, ok := body[f.name]
		if !ok {
			continue
		}
		var ids []string
		if f.list {
			if json.Unmarshal(raw, &ids) != nil {
				return errBadRequest(f.name, "invalid_type", "%s must be an array of ids", f.name)
			}
		} else {
			var id string
			if json.Unmarshal(raw, &id) != nil {
				return errBadRequest(f.name, "invalid_type", "%s must be an id (a string)", f.name)
			}
			ids = []string{id}
		}
		for i, id := range ids {
			up, err := g.objectIn(req, id, f.name)
			if err != nil {
				return err
			}
			ids[i] = up
		}
		var out []byte
		if f.list {
			out, _ = json.Marshal(ids)
		} else {
			out, _ = json.Marshal(ids[0])
		}
		body[f.name] = out
		changed = true
	}
	if !changed {
		return nil
	}
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req.body = b
	req.peek, err = peekCap(b, false)
	return err
}

// objectIn checks one id of a request body and returns the upstream's.
func (g *Gateway) objectIn(req *exchange, id, param string) (string, error) {
	kind := "File"
	if param == "part_ids" {
		kind = "Part"
	}
	ref, ok := g.decodeObject(id, ownerOf(req.principal))
	if !ok {
		return "", errObjectNotFound(kind, id, param)
	}
	switch {
	case req.sticky == "":
		d, ok := g.router.Deployment(ref.deployment)
		if !ok {
			return "", errObjectGone(kind, id, ref.deployment, param)
		}
		req.sticky, req.model = ref.deployment, d.Config.Model
	case ref.deployment != req.sticky:
		return "", &apierror.Error{Status: http.StatusBadRequest, Type: apierror.TypeInvalidRequest, Param: param, Code: "object_on_other_deployment",
			Message: kind + " '" + id + "' is held by deployment " + ref.deployment + ", but this request goes to deployment " + req.sticky + "; objects used together must be created on one deployment (upload the file again with ?model= naming the same model)"}
	}
	return ref.upstream, nil
}

// translateCursors turns the gateway's ids in a list's after and before
// into the upstream's; one the caller does not own is a 404.
func (g *Gateway) translateCursors(r *http.Request, req *exchange) error {
	if req.spec.Kind == "" || r.URL.RawQuery == "" {
		return nil
	}
	q := r.URL.Query()
	changed := false
	for _, k := range []string{"after", "before"} {
		v := q.Get(k)
		if v == "" {
			continue
		}
		ref, ok := g.decodeObject(v, ownerOf(req.principal))
		if !ok || ref.deployment != req.sticky {
			return errObjectNotFound("Object", v, k)
		}
		q.Set(k, ref.upstream)
		changed = true
	}
	if changed {
		r.URL.RawQuery = q.Encode()
	}
	return nil
}
