package esbulk_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nri-audit/nri-audit/esbulk"
)

func closedPortURL(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + ln.Addr().String()
	ln.Close()
	return u
}

func TestCheck(t *testing.T) {
	es := newFakeES(t).start()
	nginx := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<html><head><title>Welcome to nginx!</title></head></html>")
	}))
	defer nginx.Close()
	jsonNoVersion := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		io.WriteString(w, `{"status":"ok"}`)
	}))
	defer jsonNoVersion.Close()
	kibana404 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(404)
		io.WriteString(w, `{"statusCode":404,"error":"Not Found","message":"Not Found"}`)
	}))
	defer kibana404.Close()
	secured := newFakeES(t).start()
	secured.wantAuth = basic("elastic", "changeme")
	dead := closedPortURL(t)

	for _, tc := range []struct {
		name string
		cfg  esbulk.Config
		want string // "" = healthy
		auth bool
	}{
		{"elasticsearch", esbulk.Config{URLs: []string{es.URL()}}, "", false},
		{"nginx", esbulk.Config{URLs: []string{nginx.URL}}, `not Elasticsearch: the response has no "X-Elastic-Product: Elasticsearch" header`, false},
		{"no version", esbulk.Config{URLs: []string{jsonNoVersion.URL}}, "GET / has no version.number", false},
		{"kibana port", esbulk.Config{URLs: []string{kibana404.URL}}, "not Elasticsearch: HTTP 404", false},
		{"no credentials", esbulk.Config{URLs: []string{secured.URL()}}, "HTTP 401 (wrong or missing user/password, API key or token): security_exception: missing authentication credentials", true},
		{"wrong password", esbulk.Config{URLs: []string{secured.URL()}, User: "elastic", Password: "x"}, "security_exception: unable to authenticate user [elastic]", true},
		{"right password", esbulk.Config{URLs: []string{secured.URL()}, User: "elastic", Password: "changeme"}, "", false},
		{"unreachable", esbulk.Config{URLs: []string{dead}}, "cannot reach the server", false},
		{"one of two unreachable", esbulk.Config{URLs: []string{dead, es.URL()}}, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(t, tc.cfg)
			err := c.Check(context.Background())
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if errors.Is(err, esbulk.ErrAuth) != tc.auth {
				t.Errorf("errors.Is(ErrAuth) = %v", !tc.auth)
			}
		})
	}
}

// pki is a throwaway CA with a server certificate for 127.0.0.1 and a
// client certificate, written as PEM files.
type pki struct {
	dir                       string
	caFile, certFile, keyFile string
	serverCert                tls.Certificate
	pool                      *x509.CertPool
	otherCAFile               string
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	p := &pki{dir: t.TempDir()}
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	serial := int64(1)
	mkCA := func(name string) (*x509.Certificate, *ecdsa.PrivateKey, []byte) {
		key := newKey()
		serial++
		tpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
		}
		der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		cert, _ := x509.ParseCertificate(der)
		return cert, key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	}
	ca, caKey, caPEM := mkCA("nri-audit test CA")
	_, _, otherPEM := mkCA("another CA")
	leaf := func(cn string, usage x509.ExtKeyUsage, ips []net.IP) ([]byte, []byte) {
		key := newKey()
		serial++
		tpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}, IPAddresses: ips,
		}
		der, err := x509.CreateCertificate(rand.Reader, tpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kder, _ := x509.MarshalECPrivateKey(key)
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
			pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
	}
	srvCert, srvKey := leaf("es01", x509.ExtKeyUsageServerAuth, []net.IP{net.ParseIP("127.0.0.1")})
	cliCert, cliKey := leaf("nri-audit", x509.ExtKeyUsageClientAuth, nil)
	var err error
	if p.serverCert, err = tls.X509KeyPair(srvCert, srvKey); err != nil {
		t.Fatal(err)
	}
	p.pool = x509.NewCertPool()
	p.pool.AppendCertsFromPEM(caPEM)
	write := func(name string, b []byte) string {
		path := filepath.Join(p.dir, name)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	p.caFile = write("ca.pem", caPEM)
	p.otherCAFile = write("other-ca.pem", otherPEM)
	p.certFile = write("client.pem", cliCert)
	p.keyFile = write("client-key.pem", cliKey)
	return p
}

func TestTLS(t *testing.T) {
	p := newPKI(t)
	f := newFakeES(t)
	f.srv.TLS = &tls.Config{
		Certificates: []tls.Certificate{p.serverCert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    p.pool,
	}
	f.srv.StartTLS()
	u := f.URL()
	if !strings.HasPrefix(u, "https://127.0.0.1:") {
		t.Fatalf("URL %s", u)
	}
	ok := esbulk.Config{URLs: []string{u}, Index: "nri-audit", CAFile: p.caFile, CertFile: p.certFile, KeyFile: p.keyFile}

	c := newClient(t, ok)
	if err := c.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	res, err := c.Flush(context.Background(), fillBatch(t, c, makeRecords(t, 10)))
	if err != nil || res.Delivered != 10 {
		t.Fatalf("%+v %v", res, err)
	}

	for _, tc := range []struct {
		name string
		edit func(*esbulk.Config)
		want string
	}{
		{"system roots only", func(c *esbulk.Config) { c.CAFile = "" }, "certificate signed by unknown authority"},
		{"wrong CA", func(c *esbulk.Config) { c.CAFile = p.otherCAFile }, "certificate signed by unknown authority"},
		{"no client certificate", func(c *esbulk.Config) { c.CertFile, c.KeyFile = "", "" }, "certificate required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.edit(&cfg)
			c := newClient(t, cfg)
			err := c.Check(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
	t.Run("insecure skip verify", func(t *testing.T) {
		cfg := ok
		cfg.CAFile, cfg.InsecureSkipVerify = "", true
		c := newClient(t, cfg)
		if err := c.Check(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("bad files", func(t *testing.T) {
		cfg := ok
		cfg.CAFile = p.keyFile
		if _, err := esbulk.New(cfg); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
			t.Errorf("CA = key: %v", err)
		}
		cfg = ok
		cfg.KeyFile = p.caFile
		if _, err := esbulk.New(cfg); err == nil || !strings.Contains(err.Error(), "client certificate") {
			t.Errorf("key = CA: %v", err)
		}
	})
}
