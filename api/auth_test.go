package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

type tokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	SessionID    string `json:"session_id"`
	User         struct {
		ID      string   `json:"id"`
		Roles   []string `json:"roles"`
		Version int64    `json:"version"`
	} `json:"user"`
}

// post sends a JSON body (a string, or anything json.Marshal takes) with an optional bearer token.
func post(t *testing.T, base, method, path, token string, body any) *response {
	t.Helper()
	var b []byte
	switch v := body.(type) {
	case string:
		b = []byte(v)
	case nil:
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			t.Fatal(err)
		}
	}
	headers := []string{"Content-Type: application/json"}
	if token != "" {
		headers = append(headers, "Authorization: Bearer "+token)
	}
	return do(t, base, method, path, bytes.NewReader(b), headers...)
}

// login signs in and fails the test unless it succeeds.
func login(t *testing.T, base, username, password, device string) tokens {
	t.Helper()
	r := post(t, base, http.MethodPost, "/v1/auth/login", "", map[string]string{"username": username, "password": password, "device_id": device, "device_name": "test " + device})
	if r.status != http.StatusOK {
		t.Fatalf("login %s: %d %s", username, r.status, r.body)
	}
	var tk tokens
	r.json(t, &tk)
	return tk
}

var (
	adminOnce   sync.Once
	adminTokens tokens
	userSeq     atomic.Int64
)

// adminToken signs the bootstrap administrator of the shared server in once.
func adminToken(t *testing.T) string {
	t.Helper()
	base := server(t).base
	adminOnce.Do(func() { adminTokens = login(t, base, "admin", adminPassword, "admin-console") })
	return adminTokens.AccessToken
}

// newUser creates a user with roles on the shared server and signs it in on a fresh device.
func newUser(t *testing.T, roles ...string) (username, password string, tk tokens) {
	t.Helper()
	base := server(t).base
	username = fmt.Sprintf("user%d-%s", userSeq.Add(1), strings.ReplaceAll(strings.Join(roles, "-"), "_", ""))
	password = fmt.Sprintf("long enough passphrase number %d", userSeq.Load())
	r := post(t, base, http.MethodPost, "/v1/users", adminToken(t), map[string]any{"username": username, "display_name": "Test " + username, "roles": roles, "password": password})
	if r.status != http.StatusCreated {
		t.Fatalf("creating %s: %d %s", username, r.status, r.body)
	}
	return username, password, login(t, base, username, password, "phone-"+username)
}

func TestSignInRefreshAndReuse(t *testing.T) {
	t.Parallel()
	base := server(t).base
	username, password, first := newUser(t, "caseworker")
	var me struct {
		User struct {
			Username string   `json:"username"`
			Roles    []string `json:"roles"`
		} `json:"user"`
		DeviceID string `json:"device_id"`
	}
	get(t, base, "/v1/me", "Authorization: Bearer "+first.AccessToken).json(t, &me)
	if me.User.Username != username || me.DeviceID != "phone-"+username || len(me.User.Roles) != 1 {
		t.Fatalf("me = %+v", me)
	}

	r := post(t, base, http.MethodPost, "/v1/auth/refresh", "", map[string]string{"refresh_token": first.RefreshToken})
	if r.status != http.StatusOK {
		t.Fatalf("refresh: %d %s", r.status, r.body)
	}
	var second tokens
	r.json(t, &second)
	if second.RefreshToken == first.RefreshToken || second.SessionID != first.SessionID {
		t.Fatal("refresh did not rotate the token within the session")
	}

	// The rotated token is presented again: the whole family dies, the newest token included.
	if r := post(t, base, http.MethodPost, "/v1/auth/refresh", "", map[string]string{"refresh_token": first.RefreshToken}); r.status != http.StatusUnauthorized {
		t.Fatalf("reused token: %d", r.status)
	}
	if r := post(t, base, http.MethodPost, "/v1/auth/refresh", "", map[string]string{"refresh_token": second.RefreshToken}); r.status != http.StatusUnauthorized {
		t.Fatalf("token of a revoked family: %d", r.status)
	}
	if r := get(t, base, "/v1/me", "Authorization: Bearer "+second.AccessToken); r.status != http.StatusUnauthorized {
		t.Errorf("access token of a revoked session: %d", r.status)
	}

	third := login(t, base, username, password, "phone-"+username)
	if r := post(t, base, http.MethodPost, "/v1/auth/logout", third.AccessToken, nil); r.status != http.StatusNoContent {
		t.Fatalf("logout: %d %s", r.status, r.body)
	}
	if r := post(t, base, http.MethodPost, "/v1/auth/refresh", "", map[string]string{"refresh_token": third.RefreshToken}); r.status != http.StatusUnauthorized {
		t.Errorf("refresh after logout: %d", r.status)
	}

	_, _, auditor := newUser(t, "auditor")
	var log struct {
		Items []struct {
			Action  string `json:"action"`
			ActorID string `json:"actor_id"`
		}
	}
	get(t, base, "/v1/audit?action=auth.token_reuse", "Authorization: Bearer "+auditor.AccessToken).json(t, &log)
	found := false
	for _, e := range log.Items {
		found = found || e.ActorID == first.User.ID
	}
	if !found {
		t.Errorf("no auth.token_reuse entry for the user in %+v", log.Items)
	}
}

func TestBadCredentialsAreOneAnswer(t *testing.T) {
	t.Parallel()
	base := server(t).base
	username, _, _ := newUser(t, "supervisor")
	wrong := post(t, base, http.MethodPost, "/v1/auth/login", "", map[string]string{"username": username, "password": "not the password at all", "device_id": "d1"}).problem(t)
	unknown := post(t, base, http.MethodPost, "/v1/auth/login", "", map[string]string{"username": "nobody-" + username, "password": "not the password at all", "device_id": "d1"}).problem(t)
	if wrong.Status != 401 || unknown.Status != 401 || wrong.Code != unknown.Code || wrong.Detail != unknown.Detail {
		t.Errorf("wrong password %+v vs unknown user %+v", wrong, unknown)
	}
}

// Repeated failures lock the account, from the address they came from, with 429 and Retry-After
// (TestThrottlingKeepsOthersIn: whom else it locks). A server of its own, so the lock does not reach
// other tests.
func TestLoginThrottling(t *testing.T) {
	t.Parallel()
	s := startServer(t, testEnv(t.TempDir(), nil), nil)
	defer s.stop()
	var last *response
	for i := 0; i < 6; i++ {
		last = postFrom(t, s.base, "127.9.9.9", "/v1/auth/login", map[string]string{"username": "admin", "password": "wrong password number x", "device_id": "d"})
	}
	if last.status != http.StatusTooManyRequests || last.header.Get("Retry-After") == "" {
		t.Fatalf("after 6 failures: %d Retry-After %q", last.status, last.header.Get("Retry-After"))
	}
	if p := last.problem(t); p.Code != "too_many_attempts" || strings.Contains(p.Detail, "{{") {
		t.Errorf("problem %+v", p)
	}
	// Even the right password waits for the lock to end.
	if r := postFrom(t, s.base, "127.9.9.9", "/v1/auth/login", map[string]string{"username": "admin", "password": adminPassword, "device_id": "d"}); r.status != http.StatusTooManyRequests {
		t.Errorf("right password during the lock: %d", r.status)
	}
}

func TestRevokedDevice(t *testing.T) {
	t.Parallel()
	base := server(t).base
	username, password, phone := newUser(t, "caseworker")
	tablet := login(t, base, username, password, "tablet-"+username)

	var devices struct{ Items []struct{ ID string } }
	get(t, base, "/v1/devices", "Authorization: Bearer "+tablet.AccessToken).json(t, &devices)
	if len(devices.Items) != 2 {
		t.Fatalf("devices = %+v", devices)
	}
	if r := do(t, base, http.MethodDelete, "/v1/devices/phone-"+username, nil, "Authorization: Bearer "+tablet.AccessToken); r.status != http.StatusOK {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	r := get(t, base, "/v1/me", "Authorization: Bearer "+phone.AccessToken)
	var p struct {
		Code string
		Wipe bool `json:"wipe_local_data"`
	}
	r.json(t, &p)
	if r.status != http.StatusUnauthorized || !p.Wipe || r.header.Get("WWW-Authenticate") == "" {
		t.Errorf("revoked phone: %d %+v", r.status, p)
	}
	if r := post(t, base, http.MethodPost, "/v1/auth/refresh", "", map[string]string{"refresh_token": phone.RefreshToken}); r.status != http.StatusUnauthorized {
		t.Errorf("refresh on the revoked phone: %d", r.status)
	}
	if r := post(t, base, http.MethodPost, "/v1/auth/login", "", map[string]string{"username": username, "password": password, "device_id": "phone-" + username}); r.status != http.StatusUnauthorized {
		t.Errorf("login on the revoked phone: %d", r.status)
	}
	if r := get(t, base, "/v1/me", "Authorization: Bearer "+tablet.AccessToken); r.status != http.StatusOK {
		t.Errorf("the other device stopped working: %d", r.status)
	}
	// Another user's device: not found, whatever it is.
	_, _, other := newUser(t, "caseworker")
	if r := do(t, base, http.MethodDelete, "/v1/devices/tablet-"+username, nil, "Authorization: Bearer "+other.AccessToken); r.status != http.StatusNotFound {
		t.Errorf("revoking someone else's device: %d", r.status)
	}
}

func TestUserAdministration(t *testing.T) {
	t.Parallel()
	base := server(t).base
	admin := adminToken(t)
	username, password, user := newUser(t, "caseworker")

	// A stale version is refused with the current record.
	patch := func(body any) *response {
		return post(t, base, http.MethodPatch, "/v1/users/"+user.User.ID, admin, body)
	}
	r := patch(map[string]any{"version": user.User.Version, "roles": []string{"caseworker", "supervisor"}})
	if r.status != http.StatusOK {
		t.Fatalf("role change: %d %s", r.status, r.body)
	}
	r = patch(map[string]any{"version": user.User.Version, "display_name": "Late edit"})
	var conflict struct {
		Code    string
		Current struct {
			Version int64
			Roles   []string
		}
	}
	r.json(t, &conflict)
	if r.status != http.StatusConflict || conflict.Current.Version != user.User.Version+1 || len(conflict.Current.Roles) != 2 {
		t.Errorf("stale write: %d %s", r.status, r.body)
	}

	// A password reset ends the user's sessions.
	if r := post(t, base, http.MethodPost, "/v1/users/"+user.User.ID+"/password", admin, map[string]string{"password": "a brand new passphrase 42"}); r.status != http.StatusOK {
		t.Fatalf("reset: %d %s", r.status, r.body)
	}
	if r := get(t, base, "/v1/me", "Authorization: Bearer "+user.AccessToken); r.status != http.StatusUnauthorized {
		t.Errorf("old session after a password reset: %d", r.status)
	}
	if r := post(t, base, http.MethodPost, "/v1/auth/login", "", map[string]string{"username": username, "password": password, "device_id": "x"}); r.status != http.StatusUnauthorized {
		t.Errorf("old password still works: %d", r.status)
	}
	login(t, base, username, "a brand new passphrase 42", "phone-"+username)

	// Disabled users cannot sign in.
	var current struct{ Version int64 }
	get(t, base, "/v1/users?limit=200", "Authorization: Bearer "+admin)
	r = patch(map[string]any{"version": user.User.Version + 2, "disabled": true})
	r.json(t, &current)
	if r.status != http.StatusOK {
		t.Fatalf("disable: %d %s", r.status, r.body)
	}
	if r := post(t, base, http.MethodPost, "/v1/auth/login", "", map[string]string{"username": username, "password": "a brand new passphrase 42", "device_id": "x"}); r.status != http.StatusUnauthorized {
		t.Errorf("disabled user signed in: %d", r.status)
	}
}

// Bad request bodies get a localized problem with field errors and change nothing.
func TestBadBodies(t *testing.T) {
	t.Parallel()
	base := server(t).base
	admin := adminToken(t)
	badbodyExists := func() bool {
		var list struct{ Items []struct{ Username string } }
		get(t, base, "/v1/users?limit=200", "Authorization: Bearer "+admin).json(t, &list)
		return slices.ContainsFunc(list.Items, func(u struct{ Username string }) bool { return u.Username == "badbody" })
	}
	valid := `{"username":"badbody","display_name":"B","roles":["caseworker"],"password":"a perfectly fine passphrase"}`
	tests := []struct {
		name, body, contentType string
		wantField, wantCode     string
	}{
		{"malformed JSON", `{"username":`, "application/json", "body", "malformed"},
		{"not an object", `["a"]`, "application/json", "body", "not_object"},
		{"two documents", valid + valid, "application/json", "body", "malformed"},
		{"unknown field", strings.Replace(valid, `"display_name"`, `"nickname"`, 1), "application/json", "nickname", "unknown"},
		{"wrong type", strings.Replace(valid, `["caseworker"]`, `"caseworker"`, 1), "application/json", "roles", "type"},
		{"operator injection as a value", strings.Replace(valid, `"B"`, `{"$gt":""}`, 1), "application/json", "display_name.$gt", "forbidden_key"},
		{"dotted key", strings.Replace(valid, `"display_name":"B"`, `"display_name":"B","a.b":1`, 1), "application/json", "a.b", "forbidden_key"},
		{"unknown role", strings.Replace(valid, `"caseworker"`, `"superuser"`, 1), "application/json", "roles[0]", "oneof"},
		{"overlong string", strings.Replace(valid, `"B"`, `"`+strings.Repeat("x", 201)+`"`, 1), "application/json", "display_name", "max"},
		{"weak password", strings.Replace(valid, "a perfectly fine passphrase", "short", 1), "application/json", "password", "too_short"},
		{"missing field", `{"username":"badbody","roles":["caseworker"]}`, "application/json", "password", "required"},
		{"not JSON", valid, "text/plain", "body", "content_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, base, http.MethodPost, "/v1/users?lang=fr", strings.NewReader(tt.body), "Content-Type: "+tt.contentType, "Authorization: Bearer "+admin)
			if r.status != http.StatusBadRequest {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			p := r.problem(t)
			found := false
			for _, e := range p.Errors {
				if e.Field == tt.wantField && e.Code == tt.wantCode {
					found = !strings.Contains(e.Message, "field.") && !strings.Contains(e.Message, "{{")
				}
			}
			if !found || r.header.Get("Content-Language") != "fr" {
				t.Errorf("want %s/%s, got %+v", tt.wantField, tt.wantCode, p.Errors)
			}
		})
	}
	if badbodyExists() {
		t.Error("a bad request created the user")
	}
}

func TestAuditLogVerifies(t *testing.T) {
	t.Parallel()
	base := server(t).base
	_, _, auditor := newUser(t, "auditor")
	_, _, supervisor := newUser(t, "supervisor")
	for _, tk := range []tokens{auditor, supervisor} {
		var report struct {
			Entries int
			OK      bool
		}
		r := get(t, base, "/v1/audit/verify", "Authorization: Bearer "+tk.AccessToken)
		r.json(t, &report)
		if r.status != http.StatusOK || !report.OK || report.Entries == 0 {
			t.Errorf("verify: %d %s", r.status, r.body)
		}
	}
	var page struct {
		Items      []struct{ Seq int64 }
		NextCursor *string `json:"next_cursor"`
	}
	get(t, base, "/v1/audit?limit=2", "Authorization: Bearer "+auditor.AccessToken).json(t, &page)
	if len(page.Items) != 2 || page.NextCursor == nil || page.Items[1].Seq != page.Items[0].Seq+1 {
		t.Fatalf("first page %+v", page)
	}
	first := page.Items[1].Seq
	get(t, base, "/v1/audit?limit=2&cursor="+*page.NextCursor, "Authorization: Bearer "+auditor.AccessToken).json(t, &page)
	if len(page.Items) == 0 || page.Items[0].Seq != first+1 {
		t.Errorf("second page starts at %+v, want seq %d", page.Items, first+1)
	}
}

// Security events that belong to no organisation (a sign-in with an unknown user name) go to the
// deployment's audit log, which only auditors of DEPLOYMENT_AUDIT_ORG ("default" here) may read.
func TestDeploymentAuditLog(t *testing.T) {
	t.Parallel()
	base := server(t).base
	_, _, auditor := newUser(t, "auditor")
	_, _, supervisor := newUser(t, "supervisor")
	failed := post(t, base, http.MethodPost, "/v1/auth/login", "", map[string]string{"username": "nobody-at-all", "password": "not the password at all", "device_id": "d1"})
	if failed.status != http.StatusUnauthorized {
		t.Fatalf("unknown user: %d %s", failed.status, failed.body)
	}
	requestID := failed.header.Get("X-Request-ID")

	var page struct {
		Items []struct {
			Action, Outcome string
			RequestID       string `json:"request_id"`
		}
		NextCursor *string `json:"next_cursor"`
	}
	found := false
	for path := "/v1/audit?log=deployment&action=auth.login_failed&limit=200"; path != "" && !found; {
		r := get(t, base, path, "Authorization: Bearer "+auditor.AccessToken)
		if r.status != http.StatusOK {
			t.Fatalf("auditor reading the deployment log: %d %s", r.status, r.body)
		}
		r.json(t, &page)
		for _, e := range page.Items {
			found = found || (e.RequestID == requestID && e.Outcome == "failure")
		}
		path = ""
		if page.NextCursor != nil {
			path = "/v1/audit?log=deployment&action=auth.login_failed&limit=200&cursor=" + *page.NextCursor
		}
	}
	if !found {
		t.Errorf("the failed sign-in (request %s) is not in the deployment log", requestID)
	}

	tests := []struct {
		name, path, token string
		status            int
		code              string
	}{
		{"auditor verifies it", "/v1/audit/verify?log=deployment", auditor.AccessToken, http.StatusOK, ""},
		{"auditor, own log by name", "/v1/audit/verify?log=organisation", auditor.AccessToken, http.StatusOK, ""},
		{"supervisor may not read it", "/v1/audit?log=deployment", supervisor.AccessToken, http.StatusForbidden, "forbidden"},
		{"supervisor may not verify it", "/v1/audit/verify?log=deployment", supervisor.AccessToken, http.StatusForbidden, "forbidden"},
		{"unknown log", "/v1/audit?log=everything", auditor.AccessToken, http.StatusBadRequest, "validation_failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := get(t, base, tt.path, "Authorization: Bearer "+tt.token)
			if r.status != tt.status {
				t.Fatalf("%d %s", r.status, r.body)
			}
			if tt.code != "" {
				if p := r.problem(t); p.Code != tt.code {
					t.Errorf("code %q, want %q", p.Code, tt.code)
				}
			}
		})
	}
}
