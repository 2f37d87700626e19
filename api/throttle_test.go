package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// signInFrom signs in from the loopback address from (127.x.y.z), with extra headers (name, value,
// ...), and returns the status.
func signInFrom(t *testing.T, base, from, username, password string, headers ...string) int {
	t.Helper()
	return postFrom(t, base, from, "/v1/auth/login", map[string]string{"username": username, "password": password, "device_id": "throttle-" + from}, headers...).status
}

// postFrom posts body as JSON to path from the loopback address from, with extra headers (name,
// value, ...), and checks the response against the contract.
func postFrom(t *testing.T, base, from, path string, body any, headers ...string) *response {
	t.Helper()
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}).DialContext(ctx, network, addr)
		}}}
	b, _ := json.Marshal(body)
	req, err := http.NewRequest(http.MethodPost, base+path, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := &response{status: resp.StatusCode, header: resp.Header, body: raw, raw: raw}
	checkContract(t, req, r)
	return r
}

// Failures for one account, or for names nobody has, do not block other accounts' correct sign-ins
// from the same address (an office behind one address); an account's failures from one address lock
// that account there, not from elsewhere; X-Forwarded-For names the client only when the peer is a
// trusted proxy. A server of its own, so its locks reach no other test.
func TestThrottlingKeepsOthersIn(t *testing.T) {
	t.Parallel()
	s := startServer(t, testEnv(t.TempDir(), map[string]string{"TRUSTED_PROXIES": "127.77.0.0/16"}), nil)
	defer s.stop()
	admin := login(t, s.base, "admin", adminPassword, "throttle-admin").AccessToken
	users := map[string]string{}
	for _, name := range []string{"alice", "bob", "carol", "dave"} {
		pw := "long enough passphrase number " + fmt.Sprint(len(name)*7+len(users))
		r := post(t, s.base, http.MethodPost, "/v1/users", admin, map[string]any{"username": name, "display_name": name, "roles": []string{"caseworker"}, "password": pw})
		mustStatus(t, r, http.StatusCreated)
		users[name] = pw
	}
	fail := func(from, username string, n int, headers ...string) {
		t.Helper()
		for range n {
			if st := signInFrom(t, s.base, from, username, "not the password at all", headers...); st != http.StatusUnauthorized && st != http.StatusTooManyRequests {
				t.Fatalf("failed sign-in: %d", st)
			}
		}
	}
	t.Run("unknown names do not lock the address", func(t *testing.T) {
		fail("127.10.0.1", "nobody-at-all", 6)
		if st := signInFrom(t, s.base, "127.10.0.1", "alice", users["alice"]); st != http.StatusOK {
			t.Errorf("alice from the address where an unknown name failed: %d, want 200", st)
		}
	})
	t.Run("an account locked from one address", func(t *testing.T) {
		fail("127.11.0.1", "bob", 6)
		if st := signInFrom(t, s.base, "127.11.0.1", "bob", users["bob"]); st != http.StatusTooManyRequests {
			t.Errorf("bob from the address of his failures: %d, want 429", st)
		}
		if st := signInFrom(t, s.base, "127.11.0.2", "bob", users["bob"]); st != http.StatusOK {
			t.Errorf("bob from another address: %d, want 200", st)
		}
		if st := signInFrom(t, s.base, "127.11.0.1", "alice", users["alice"]); st != http.StatusOK {
			t.Errorf("alice from the address of bob's failures: %d, want 200", st)
		}
	})
	t.Run("X-Forwarded-For from a trusted proxy", func(t *testing.T) {
		// Behind the proxy every client comes from 127.77.0.1: the header tells them apart.
		fail("127.77.0.1", "carol", 6, "X-Forwarded-For", "203.0.113.9")
		if st := signInFrom(t, s.base, "127.77.0.1", "carol", users["carol"], "X-Forwarded-For", "203.0.113.9"); st != http.StatusTooManyRequests {
			t.Errorf("carol again from 203.0.113.9 through the proxy: %d, want 429", st)
		}
		if st := signInFrom(t, s.base, "127.77.0.1", "carol", users["carol"], "X-Forwarded-For", "198.51.100.7"); st != http.StatusOK {
			t.Errorf("carol from 198.51.100.7 through the proxy: %d, want 200", st)
		}
	})
	t.Run("X-Forwarded-For from anyone else is ignored", func(t *testing.T) {
		fail("127.12.0.1", "dave", 6, "X-Forwarded-For", "203.0.113.10")
		// A client that is no proxy cannot escape its lock by naming another address.
		if st := signInFrom(t, s.base, "127.12.0.1", "dave", users["dave"], "X-Forwarded-For", "198.51.100.8"); st != http.StatusTooManyRequests {
			t.Errorf("dave naming another address himself: %d, want 429", st)
		}
	})
}
