package store

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// ParseSecretKey decodes SPILLWAY_SECRET_KEY: 32 bytes given as 64 hex
// characters or as standard or URL-safe base64, padded or not. Surrounding
// whitespace is ignored. Errors never quote the input.
func ParseSecretKey(s string) ([]byte, error) {
	const want = "want 32 bytes as 64 hex characters or base64 (e.g. `openssl rand -hex 32`)"
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("secret key is empty: " + want)
	}
	isHex := len(s)%2 == 0 && strings.Trim(s, "0123456789abcdefABCDEF") == ""
	if isHex && len(s) == 64 {
		return hex.DecodeString(s)
	}
	b64len := -1
	for _, enc := range []*base64.Encoding{
		base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding,
	} {
		if key, err := enc.DecodeString(s); err == nil {
			if len(key) == 32 {
				return key, nil
			}
			b64len = len(key)
		}
	}
	switch {
	case isHex:
		return nil, fmt.Errorf("secret key is %d hex characters (%d bytes): %s", len(s), len(s)/2, want)
	case b64len >= 0:
		return nil, fmt.Errorf("secret key decodes from base64 to %d bytes: %s", b64len, want)
	}
	return nil, fmt.Errorf("secret key (%d characters) is neither hex nor base64: %s", len(s), want)
}
