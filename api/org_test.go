package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// testOrg is an organisation of its own on the shared server, with an administrator: tests whose
// outcome depends on everything an organisation wrote (its change sequence, its audit log) use one so
// that tests running beside them cannot change it.
type testOrg struct {
	id    string
	admin string // the administrator's access token
}

// newOrg creates an organisation with an administrator through the users command, as an agency's IT
// person would, and signs the administrator in.
func newOrg(t *testing.T) testOrg {
	t.Helper()
	s := server(t)
	n := userSeq.Add(1)
	org, username, password := fmt.Sprintf("org-%d", n), fmt.Sprintf("admin%d", n), fmt.Sprintf("organisation admin passphrase %d", n)
	getenv := func(k string) string { return sharedEnv[k] }
	args := []string{"create", "-org", org, "-username", username, "-roles", "admin", "-display-name", "Admin " + org}
	if err := usersCommand(context.Background(), args, getenv, strings.NewReader(password+"\n"), io.Discard, io.Discard, testPasswords); err != nil {
		t.Fatalf("creating the administrator of %s: %v", org, err)
	}
	return testOrg{id: org, admin: login(t, s.base, username, password, "console-"+username).AccessToken}
}

// newUser creates a user with roles in the organisation and signs it in on a fresh device.
func (o testOrg) newUser(t *testing.T, roles ...string) (username, password string, tk tokens) {
	t.Helper()
	base := server(t).base
	username = fmt.Sprintf("user%d-%s", userSeq.Add(1), strings.ReplaceAll(strings.Join(roles, "-"), "_", ""))
	password = fmt.Sprintf("long enough passphrase number %d", userSeq.Load())
	r := post(t, base, http.MethodPost, "/v1/users", o.admin, map[string]any{"username": username, "display_name": "Test " + username, "roles": roles, "password": password})
	if r.status != http.StatusCreated {
		t.Fatalf("creating %s in %s: %d %s", username, o.id, r.status, r.body)
	}
	return username, password, login(t, base, username, password, "phone-"+username)
}

func TestOrganisationsAreApart(t *testing.T) {
	t.Parallel()
	a, b := newOrg(t), newOrg(t)
	_, _, supA := a.newUser(t, "supervisor")
	_, _, workerB := b.newUser(t, "caseworker")
	id := newID()
	if r := post(t, server(t).base, http.MethodPost, "/v1/cases", workerB.AccessToken, newCase(id, "Child B")); r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	if r := get(t, server(t).base, "/v1/cases/"+id, "Authorization: Bearer "+supA.AccessToken); r.status != http.StatusNotFound {
		t.Errorf("a supervisor of another organisation reading the case: %d, want 404", r.status)
	}
}
