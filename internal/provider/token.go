package provider

import (
	"context"
)

// TokenSource supplies bearer tokens for a deployment that authenticates
// to its upstream with Entra ID. Token must return at once while a valid
// token is cached; it fails with a *CredentialError when none can be had.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
}

// CredentialError means a deployment's upstream credentials could not be
// obtained: no Entra ID token. Reason is short and safe for logs and the
// admin API (fixed phrases, an HTTP status, an AADSTS code); Err holds
// the details.
type CredentialError struct {
	Deployment string
	Reason     string
	Err        error
}

func (e *CredentialError) Error() string {
	return "deployment " + e.Deployment + ": entra token: " + e.Reason
}

func (e *CredentialError) Unwrap() error { return e.Err }
