package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"time"
)

// healthcheck asks the service's /readyz (up and its database answering) and returns nil when it
// answers 200. The URL defaults to the local service on PORT (https when TLS_CERT_FILE is set). It exists so a container health check
// needs no shell or curl.
func healthcheck(ctx context.Context, args []string, getenv func(string) string) error {
	url, local := "", false
	if len(args) > 0 {
		url = args[0]
	} else {
		port := getenv("PORT")
		if port == "" {
			port = "8080"
		}
		url, local = "http://127.0.0.1:"+port+"/readyz", true
		if getenv("TLS_CERT_FILE") != "" {
			url = "https://127.0.0.1:" + port + "/readyz"
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	// The default probe asks this very machine and sends nothing secret; the certificate names the
	// public host, not 127.0.0.1, so it is not verified then.
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: local}}} //nolint:gosec // local probe only
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %d", url, resp.StatusCode)
	}
	return nil
}
