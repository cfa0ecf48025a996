package admin

import (
	"net/http"
	"strings"

	"github.com/spillwayhq/spillway/internal/config"
)

// The seed-compatible routes are those of the Azure OpenAI Service Proxy
// (microsoft/azure-openai-service-proxy), whose management API keeps model
// deployments in a table keyed by deployment class (PartitionKey) and
// friendly name (RowKey). Here a friendly name is the public model, the
// deployment name the upstream deployment, the endpoint key the API key,
// and the resource name the Azure resource.

// seedFields names a deployment's fields as the seed's body does.
var seedFields = fieldNames{
	"model":         "friendly_name",
	"deployment":    "deployment_name",
	"class":         "deployment_class",
	"provider":      "deployment_class",
	"api_key":       "endpoint_key",
	"endpoint":      "resource_name",
	"resource_name": "resource_name",
}

// seedBody is the seed's ModelDeploymentRequest. Every field but active is
// required there; active defaults to true.
type seedBody struct {
	DeploymentClass *string `json:"deployment_class"`
	FriendlyName    *string `json:"friendly_name"`
	DeploymentName  *string `json:"deployment_name"`
	EndpointKey     *string `json:"endpoint_key"`
	ResourceName    *string `json:"resource_name"`
	Active          *bool   `json:"active"`
}

// seedRecord is the seed's ModelDeploymentResponse: one element of
// /modeldeployment/list/{all|active}, the key always masked.
type seedRecord struct {
	DeploymentClass string `json:"deployment_class"`
	FriendlyName    string `json:"friendly_name"`
	DeploymentName  string `json:"deployment_name"`
	EndpointKey     string `json:"endpoint_key"`
	ResourceName    string `json:"resource_name"`
	Active          bool   `json:"active"`
}

func seedView(d config.Deployment) seedRecord {
	return seedRecord{
		DeploymentClass: d.Class, FriendlyName: d.Model, DeploymentName: d.Deployment,
		EndpointKey: d.APIKey.Redacted(), ResourceName: resourceName(d), Active: d.IsActive(),
	}
}

// seedUpsert answers PATCH /api/v1/management/modeldeployment/upsert.
//
// The key is (class, friendly name, resource name). The seed keyed on
// (class, friendly name) and round-robined over every deployment of a
// class; Spillway round-robins over the deployments of one model, so
// several resources must be able to serve one friendly name. Upserting a
// known triple updates that deployment (key rotation, deployment name,
// active); a new resource under a known friendly name adds one to its
// pool. The answer is the upserted record, masked as the list shows it.
func (h *handler) seedUpsert(w http.ResponseWriter, r *http.Request) error {
	var b seedBody
	if err := decode(w, r, &b, false); err != nil {
		return err
	}
	if err := requireFields("invalid_deployment", "active", []required{
		{"deployment_class", b.DeploymentClass != nil}, {"friendly_name", b.FriendlyName != nil},
		{"deployment_name", b.DeploymentName != nil}, {"endpoint_key", b.EndpointKey != nil},
		{"resource_name", b.ResourceName != nil},
	}); err != nil {
		return err
	}
	class, _ := config.CanonicalClass(*b.DeploymentClass)
	if class == "" {
		class = *b.DeploymentClass // validate names it
	}
	resource := strings.TrimSpace(*b.ResourceName)

	h.upsertMu.Lock()
	defer h.upsertMu.Unlock()
	all, err := h.entries(r.Context())
	if err != nil {
		return err
	}
	var prev *entry
	for i, e := range all {
		if e.Class == class && e.Model == *b.FriendlyName && strings.EqualFold(resourceName(e.Deployment), resource) {
			prev = &all[i]
			break
		}
	}
	var d config.Deployment
	if prev != nil {
		if prev.stored == nil {
			return errConfigDeployment(prev.ID)
		}
		d = prev.Deployment
	}
	d.Class, d.Model, d.Deployment = class, *b.FriendlyName, *b.DeploymentName
	if d.Endpoint == "" {
		// A known deployment addressed by an endpoint keeps it: it names
		// the same resource, perhaps on another domain
		// (.cognitiveservices.azure.com).
		d.ResourceName = resource
	}
	d.Provider = config.ProviderAzure
	if class == config.ClassSearch {
		d.Provider = config.ProviderAzureSearch
	}
	active := b.Active == nil || *b.Active
	d.Active = &active
	var extra []problem
	if key, p := resolveSecret(*b.EndpointKey); p != nil {
		extra = append(extra, *p)
	} else {
		d.APIKey = config.Secret(key)
	}
	if d.ID == "" && d.Model != "" {
		d.ID = newID(d.Model)
	}
	d, err = validate(d, seedFields, extra...)
	if err != nil {
		return err
	}
	if prev != nil {
		_, err = h.update(r.Context(), *prev.stored, d, seedFields)
	} else {
		_, err = h.create(r.Context(), d, originSeed, seedFields)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, seedView(d))
	return nil
}

// required is a field a seed body must hold, and whether it does.
type required struct {
	name string
	set  bool
}

// requireFields answers 400 naming the fields missing from a seed body,
// which the seed's models require, and listing what the body needs
// (optional: the fields it may also hold).
func requireFields(code, optional string, fields []required) error {
	var missing, all []string
	for _, f := range fields {
		all = append(all, f.name)
		if !f.set {
			missing = append(missing, f.name)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return errBadRequest(missing[0], code, "missing %s; the body needs %s (and optionally %s)", strings.Join(missing, ", "), strings.Join(all, ", "), optional)
}

// seedList answers GET /api/v1/management/modeldeployment/list/{query}:
// all or active (any case), else 400 "Invalid query path." as the seed
// says. Config file deployments are listed too: they are what the gateway
// routes.
func (h *handler) seedList(w http.ResponseWriter, r *http.Request) error {
	query := strings.ToLower(r.PathValue("query"))
	if query != "all" && query != "active" {
		return errBadRequest("query", "invalid_query_path", "Invalid query path.")
	}
	all, err := h.entries(r.Context())
	if err != nil {
		return err
	}
	out := make([]seedRecord, 0, len(all))
	for _, e := range all {
		if query == "active" && !e.IsActive() {
			continue
		}
		out = append(out, seedView(e.Deployment))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
