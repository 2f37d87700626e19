package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/childsafe-protocols/caseguide/internal/ferret"
	"github.com/childsafe-protocols/caseguide/internal/mongodb"
)

// selfSignedCert writes a certificate for 127.0.0.1 and its key (mode 0600) into dir and returns
// their paths and a pool that trusts the certificate.
func selfSignedCert(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "caseguide test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	for file, block := range map[string]*pem.Block{certFile: {Type: "CERTIFICATE", Bytes: der}, keyFile: {Type: "PRIVATE KEY", Bytes: keyDER}} {
		if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// With TLS_CERT_FILE and TLS_KEY_FILE the service speaks HTTPS only (with HSTS), its health check
// follows, and with METRICS_TOKEN /metrics answers only to that token.
func TestTLSAndMetricsToken(t *testing.T) {
	t.Parallel()
	certFile, keyFile, pool := selfSignedCert(t, t.TempDir())
	const token = "metrics-token-0123456789abcdef"
	env := testEnv(t.TempDir(), map[string]string{"TLS_CERT_FILE": certFile, "TLS_KEY_FILE": keyFile, "METRICS_TOKEN": token})
	s := startServer(t, env, nil)
	defer s.stop()
	addr := strings.TrimPrefix(s.base, "http://")
	base := "https://" + addr
	tlsClient := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	call := func(path string, headers ...string) (int, http.Header, []byte) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		for _, h := range headers {
			k, v, _ := strings.Cut(h, ": ")
			req.Header.Set(k, v)
		}
		resp, err := tlsClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		checkContract(t, req, &response{status: resp.StatusCode, header: resp.Header, raw: body, body: body})
		return resp.StatusCode, resp.Header, body
	}

	status, header, _ := call("/readyz")
	if status != http.StatusOK || !strings.HasPrefix(header.Get("Strict-Transport-Security"), "max-age=") {
		t.Errorf("readyz over TLS: %d, HSTS %q", status, header.Get("Strict-Transport-Security"))
	}
	if resp, err := http.Get("http://" + addr + "/readyz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("plain HTTP answered 200 on the TLS port")
		}
	}
	port := addr[strings.LastIndex(addr, ":")+1:]
	hc := map[string]string{"PORT": port, "TLS_CERT_FILE": certFile}
	if err := run(context.Background(), []string{"api", "healthcheck"}, func(k string) string { return hc[k] }, io.Discard, io.Discard); err != nil {
		t.Errorf("healthcheck of the TLS service: %v", err)
	}

	tests := []struct {
		name   string
		header []string
		want   int
	}{
		{"no token", nil, http.StatusUnauthorized},
		{"an access token is not the metrics token", []string{"Authorization: Bearer " + strings.Repeat("x", len(token))}, http.StatusUnauthorized},
		{"the token without Bearer", []string{"Authorization: " + token}, http.StatusUnauthorized},
		{"the metrics token", []string{"Authorization: Bearer " + token}, http.StatusOK},
	}
	for _, tt := range tests {
		status, _, body := call("/metrics", tt.header...)
		if status != tt.want {
			t.Errorf("%s: %d %s", tt.name, status, body)
		}
		if tt.want == http.StatusOK && !strings.Contains(string(body), "http_requests_total") {
			t.Errorf("%s: no metrics in %.200s", tt.name, body)
		}
		if tt.want == http.StatusUnauthorized && !strings.Contains(string(body), "metrics_token_required") {
			t.Errorf("%s: %s", tt.name, body)
		}
	}
}

// The service stores its data's schema version and refuses to start on data a newer version wrote.
func TestRefusesDataOfANewerVersion(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := testEnv(dir, nil)
	s := startServer(t, env, nil)
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	uri, name := env["MONGODB_URI"], env["MONGODB_DATABASE"]
	var srv *ferret.Server
	if uri == "" {
		var err error
		if srv, err = ferret.Start(dir, io.Discard); err != nil {
			t.Fatal(err)
		}
		uri, name = srv.URI(), "caseguide"
	}
	c, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		t.Fatal(err)
	}
	coll := c.Database(name).Collection("schema_version")
	var doc struct{ Version int }
	if err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: "schema"}}).Decode(&doc); err != nil || doc.Version != mongodb.SchemaVersion {
		t.Errorf("stored schema version %d, %v; want %d", doc.Version, err, mongodb.SchemaVersion)
	}
	_, err = coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: "schema"}}, bson.D{{Key: "$set", Value: bson.D{{Key: "version", Value: 99}}}})
	c.Disconnect(ctx)
	if srv != nil {
		if cerr := srv.Close(ctx); cerr != nil {
			t.Fatal(cerr)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	err = run(ctx, []string{"api"}, func(k string) string { return env[k] }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "schema version 99") {
		t.Fatalf("start on newer data: %v", err)
	}
}
