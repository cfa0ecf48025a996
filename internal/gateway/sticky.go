package gateway

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/spillwayhq/spillway/internal/apierror"
	"github.com/spillwayhq/spillway/internal/config"
)

// stickTo sends a Responses request to holder, the deployment that holds
// what the request names (what, in param), when holder serves the
// request's model and nothing else already binds it elsewhere.
func (g *Gateway) stickTo(req *exchange, holder, what, param, code string) error {
	if _, ok := g.router.Deployment(holder); !ok {
		return &apierror.Error{Status: http.StatusNotFound, Type: apierror.TypeInvalidRequest, Param: param, Code: "object_deployment_gone",
			Message: what + " were stored on deployment " + holder + ", which no longer exists; they cannot be reached"}
	}
	pool, err := g.router.Pool(req.model, config.ClassChat)
	if err != nil {
		return routerError(err)
	}
	var serves []string
	found := false
	for _, d := range pool.Deployments() {
		serves = append(serves, d.Config.ID)
		found = found || d.Config.ID == holder
	}
	if !found {
		return &apierror.Error{Status: http.StatusBadRequest, Type: apierror.TypeInvalidRequest, Param: param, Code: code + "_not_in_pool",
			Message: what + " are held by deployment " + holder + ", which does not serve model " + req.model + " (its deployments: " + strings.Join(serves, ", ") + "); use a model that deployment serves"}
	}
	if req.sticky != "" && req.sticky != holder {
		return errBadRequest(param, code+"_elsewhere", "%s are held by deployment %s, but the request is bound to %s by another object it names; one request reaches one deployment", what, holder, req.sticky)
	}
	req.sticky = holder
	return nil
}

// setBody replaces a Responses request's body by body, re-peeked.
func (req *exchange) setBody(body map[string]json.RawMessage) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req.body = b
	req.peek, err = peekCap(b, true)
	return err
}
