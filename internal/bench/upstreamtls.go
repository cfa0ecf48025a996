package bench

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// UpstreamTLS is a throwaway certificate authority and a server
// certificate it signed for 127.0.0.1, ::1 and localhost, made for one
// bench run: the spawned mock serves HTTPS with it, and the processes in
// front of the mock (the bare proxy, the gateway) trust the authority
// through their environment (Env), as they would trust a public one.
// Nothing in the product skips verification.
type UpstreamTLS struct {
	// CAFile is the authority's certificate (PEM), alone in its
	// directory; CertFile and KeyFile the server's certificate and key.
	CAFile, CertFile, KeyFile string
	// Pool holds the authority, for bench's own clients of the mock.
	Pool *x509.CertPool
}

// NewUpstreamTLS makes a fresh authority and server certificate, valid
// for a day, and writes them under dir.
func NewUpstreamTLS(dir string) (*UpstreamTLS, error) {
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "spillway bench throwaway CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("bench CA: %w", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "spillway bench mock"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("bench server certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	// The authority sits alone in its directory: Env names the directory
	// as SSL_CERT_DIR too, so that no system certificate is loaded.
	caDir := filepath.Join(dir, "ca")
	if err := os.MkdirAll(caDir, 0o700); err != nil {
		return nil, err
	}
	u := &UpstreamTLS{
		CAFile:   filepath.Join(caDir, "ca.pem"),
		CertFile: filepath.Join(dir, "mock-cert.pem"),
		KeyFile:  filepath.Join(dir, "mock-key.pem"),
		Pool:     x509.NewCertPool(),
	}
	u.Pool.AddCert(ca)
	files := []struct {
		path, kind string
		der        []byte
		mode       os.FileMode
	}{
		{u.CAFile, "CERTIFICATE", caDER, 0o644},
		{u.CertFile, "CERTIFICATE", der, 0o644},
		{u.KeyFile, "PRIVATE KEY", keyDER, 0o600},
	}
	for _, f := range files {
		if err := os.WriteFile(f.path, pem.EncodeToMemory(&pem.Block{Type: f.kind, Bytes: f.der}), f.mode); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// Env is what a child process's environment needs to trust the authority:
// Go on Linux (and OpenSSL) read their roots from SSL_CERT_FILE and
// SSL_CERT_DIR. Appended to os.Environ, these win over any inherited ones.
func (u *UpstreamTLS) Env() []string {
	return []string{"SSL_CERT_FILE=" + u.CAFile, "SSL_CERT_DIR=" + filepath.Dir(u.CAFile)}
}

// serial is a random certificate serial number.
func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return n
}
