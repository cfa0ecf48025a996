package config

import (
	"strconv"
	"strings"
	"time"
)

// ApplyDefaults fills zero values with the documented defaults. It is
// idempotent, and Load and Parse call it.
//
// Zero means "not set" for every setting but one: routing.retries, where 0
// is a legitimate choice. Parse records whether the file had the key, and
// ApplyDefaults sets DefaultRetries only when it did not; a Config built in
// Go gets DefaultRetries for 0 on the first call (use a negative number for
// none). After the first call, Retries is left alone.
func (c *Config) ApplyDefaults() {
	setString(&c.Listen, DefaultListen)
	setString(&c.Store, DefaultStore)
	r := &c.Routing
	setString(&r.Strategy, DefaultStrategy)
	if !c.retriesSet && r.Retries == 0 {
		r.Retries = DefaultRetries
	}
	c.retriesSet = true
	setDuration(&r.Cooldown, DefaultCooldown)
	setDuration(&r.ConnectTimeout, DefaultConnectTimeout)
	setDuration(&r.FirstByteTimeout, DefaultFirstByteTimeout)
	setDuration(&r.IdleTimeout, DefaultIdleTimeout)
	setDuration(&c.Usage.PayloadRetention, DefaultPayloadRetention)
	setDuration(&c.Usage.Retention, DefaultUsageRetention)
	setInt(&r.FailureThreshold, DefaultFailureThreshold)
	setDuration(&r.CircuitOpen, DefaultCircuitOpen)
	setDuration(&r.SlowThreshold, DefaultSlowThreshold)
	if r.SlowFactor == 0 {
		r.SlowFactor = DefaultSlowFactor
	}
	if c.Limits.MaxBodyBytes == 0 {
		c.Limits.MaxBodyBytes = DefaultMaxBodyBytes
	}
	setDuration(&c.Limits.ShutdownGrace, DefaultShutdownGrace)
	if c.Limits.MaxTokensPolicy == "" {
		c.Limits.MaxTokensPolicy = "reject"
	}

	taken := map[string]bool{}
	for _, d := range c.Deployments {
		taken[d.ID] = true
	}
	perModel := map[string]int{}
	for i := range c.Deployments {
		d := &c.Deployments[i]
		if d.Model != "" {
			perModel[d.Model]++
			if d.ID == "" {
				d.ID = freeID(d.Model, perModel[d.Model], taken)
				taken[d.ID] = true
			}
		}
		setString(&d.Deployment, d.Model)
		if d.Class == "" {
			d.Class = ClassChat
			if d.Provider == ProviderAzureSearch || strings.Contains(strings.ToLower(d.Endpoint), ".search.windows.net") {
				d.Class = ClassSearch
			}
		} else if class, ok := CanonicalClass(d.Class); ok {
			d.Class = class
		}
		if d.Provider == "" {
			d.Provider = defaultProvider(*d)
		}
		if d.Provider == ProviderAzure {
			setString(&d.APIVersion, DefaultAPIVersion)
		}
		if d.Auth == AuthEntra {
			e := Entra{}
			if d.Entra != nil {
				e = *d.Entra
			}
			setString(&e.Mode, EntraDefault)
			d.Entra = &e
		}
		setInt(&d.Priority, 1)
		setInt(&d.Weight, 1)
	}
}

// freeID returns model-n, or the next number up that no deployment uses.
func freeID(model string, n int, taken map[string]bool) string {
	for {
		id := model + "-" + strconv.Itoa(n)
		if !taken[id] {
			return id
		}
		n++
	}
}

func defaultProvider(d Deployment) string {
	host := strings.ToLower(d.Endpoint)
	switch {
	case d.Class == ClassSearch, strings.Contains(host, ".search.windows.net"):
		return ProviderAzureSearch
	case d.ResourceName != "",
		strings.Contains(host, ".openai.azure.com"),
		strings.Contains(host, ".cognitiveservices.azure.com"):
		return ProviderAzure
	}
	return ProviderOpenAI
}

func setString(p *string, v string) {
	if *p == "" {
		*p = v
	}
}

func setInt(p *int, v int) {
	if *p == 0 {
		*p = v
	}
}

func setDuration(p *Duration, v time.Duration) {
	if *p == 0 {
		*p = Duration(v)
	}
}
