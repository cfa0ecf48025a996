package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
)

// keyPrefix starts every key Spillway issues, as OpenAI's do.
const keyPrefix = "sk-"

// displayLen is how much of a key is kept for display: the prefix and four
// characters, far too few to guess the rest from.
const displayLen = len(keyPrefix) + 4

// NewKey returns a fresh random client key: "sk-" and 256 random bits.
func NewKey() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return keyPrefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// AttendeeKey derives an attendee's key from the gateway's secret, so that
// registering again hands out the same key without the key ever being
// stored: only its hash is. Bumping generation reissues a different key.
// Without the secret the keys cannot be guessed, even knowing every event
// id and attendee.
func AttendeeKey(secret []byte, eventID, attendee string, generation int) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("spillway attendee key\x00"))
	m.Write([]byte(eventID))
	m.Write([]byte{0})
	m.Write([]byte(attendee))
	m.Write([]byte{0})
	m.Write([]byte(strconv.Itoa(generation)))
	return keyPrefix + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// DisplayPrefix is the part of a key shown in lists.
func DisplayPrefix(key string) string {
	if len(key) <= displayLen {
		return key
	}
	return key[:displayLen]
}
