package router

import (
	"fmt"
	"strings"
	"time"
)

// UnknownModelError means no deployment serves the model for the class.
type UnknownModelError struct {
	Model string
	Class string
	// Available lists the public models that do serve the class.
	Available []string
}

func (e *UnknownModelError) Error() string {
	if len(e.Available) == 0 {
		return fmt.Sprintf("model %q not found: no model serves %s here", e.Model, e.Class)
	}
	return fmt.Sprintf("model %q not found; available models for %s: %s", e.Model, e.Class, strings.Join(e.Available, ", "))
}

// NoActiveError means the model exists but every deployment is inactive.
type NoActiveError struct{ Model string }

func (e *NoActiveError) Error() string {
	return fmt.Sprintf("model %q has no active deployment", e.Model)
}

// UnavailableError means every remaining deployment of a pool is cooling
// down, circuit-open, or already tried by this request.
type UnavailableError struct {
	Model string
	// RetryAt is the soonest a deployment comes back; zero when unknown.
	RetryAt time.Time
	// AllTried is true when every deployment was already attempted.
	AllTried bool
	// TooLarge is true when the request alone exceeds the tpm limit of
	// every deployment it could go to.
	TooLarge bool
}

func (e *UnavailableError) Error() string {
	if e.RetryAt.IsZero() {
		return fmt.Sprintf("no deployment of %q is available", e.Model)
	}
	return fmt.Sprintf("every deployment of %q is cooling down until %s", e.Model, e.RetryAt.UTC().Format(time.RFC3339))
}
