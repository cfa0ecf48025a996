package admin

import (
	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/store"
)

// ConfigDeployment returns a stored deployment in the config's shape, the
// one the router and validation work with.
func ConfigDeployment(d store.Deployment) config.Deployment {
	active := d.Active
	return config.Deployment{
		ID: d.ID, Model: d.Model, Class: d.Class, Provider: d.Provider,
		Endpoint: d.Endpoint, ResourceName: d.ResourceName, Deployment: d.Deployment,
		APIVersion: d.APIVersion, APIKey: config.Secret(d.APIKey),
		Priority: d.Priority, Weight: d.Weight, RPM: d.RPM, TPM: d.TPM,
		Active: &active, ModelInfo: d.ModelInfo,
	}
}

// StoreDeployment returns a config deployment in the store's shape.
func StoreDeployment(d config.Deployment, origin string) store.Deployment {
	return store.Deployment{
		ID: d.ID, Model: d.Model, Class: d.Class, Provider: d.Provider,
		Endpoint: d.Endpoint, ResourceName: d.ResourceName, Deployment: d.Deployment,
		APIVersion: d.APIVersion, APIKey: d.APIKey.Value(),
		Priority: d.Priority, Weight: d.Weight, RPM: d.RPM, TPM: d.TPM,
		Active: d.IsActive(), ModelInfo: d.ModelInfo, Origin: origin,
	}
}
