// Package console is the web console for supervisors, protocol content editors, administrators
// and auditors: HTML rendered on the server with html/template, served under /console/ by the same
// Fiber application as the JSON API, with no JavaScript build step (and no script at all so far:
// plain forms and links, which also keeps the Content-Security-Policy strict).
//
// # One set of rules with the API
//
// Console handlers call the same domain services as /v1 (identity, casework, interview, evidence,
// audit, authoring) with the same identity.Principal, so organisation and assignment scoping (404
// for what the user may not see) and audit entries are identical. Routes are declared with the
// API's access policies (package access), and the access matrix test (api/matrix_test.go,
// TestAccessMatrix, with checkConsoleAccess in api/console_test.go) walks them: a console route
// missing from its matrix fails it. Where the API answers 401, the console redirects (303) to
// /console/login?next=<path>; a role the policy does not name gets a localized 403 page.
//
// # Sessions
//
// The sign-in form calls identity.Service.Login (its throttling, password checks and audit
// entries) on a new device "console-<random>" named "Web console", so each console sign-in is a
// device the user or an admin sees and can revoke (DELETE /v1/devices/{id}). The cookie cg_session
// (HttpOnly, SameSite=Strict, path /console, Secure per CONSOLE_SECURE_COOKIE) holds the session's
// secret token; identity.Service.WebSession checks it on every request (idle timeout, absolute
// lifetime, revoked device, disabled user). Every state-changing request carries the session's
// CSRF token (form field "csrf", or the X-CSRF-Token header), checked in one place (serve). A user
// whose password must change reaches only routes whose policy is PasswordChange().
//
// # Sign-in with the identity provider
//
// When Deps.OIDC is set (an OpenID Connect provider is configured), the sign-in page also offers
// the provider (oidc.go): GET /console/login/oidc starts the authorization code flow with PKCE,
// state and nonce (kept in memory for 10 minutes, bound to a SameSite=Lax cookie), and
// GET /console/login/oidc/callback exchanges the code, verifies the ID token with the API's
// oidc.Verifier, and starts the session through identity.Service.ExternalLogin for the enabled
// user of the identity's organisation and username. The session is the same kind as the password
// form's; any failure shows the sign-in page with its reason and creates nothing.
//
// # Adding a page
//
//  1. Route: add it to the route table in declare (or a declareX method of your area, called from
//     declare), with its access policy: route{method: get, path: Prefix + "/things",
//     policy: access.Roles(identity.RoleAdmin), h: c.things, nav: &navEntry{label:
//     "console.nav.things", order: 40}}. A nav entry shows the page in the header to exactly the
//     users the policy lets through. Paths carry ids only: never child data in a URL.
//  2. Handler: func (c *Console) things(r *request) error. Read with r.c (the Fiber context; copy
//     strings that outlive the handler), act as r.p through the domain services with r.ctx(), and
//     answer with c.render(r, status, "things", "console.things.title", data, notice) or a 303
//     redirect after a POST. Return errors as they come: fail renders them as the API would
//     (typed errors keep their status and localized message). Field errors of a form: render the
//     form again with c.fieldMessage for each (see account.go).
//  3. Template: templates/things.html defines "content"; the layout gives the header, navigation,
//     language picker and landmarks. Use {{.T "id" "Name" value}} for text, {{.Plural "id" n}},
//     {{.Date t}}, {{.DateTime t}}, {{.Num n}}, {{.Percent f}}; forms post with
//     <input type="hidden" name="csrf" value="{{.CSRF}}">. No inline script or style attribute (the
//     CSP forbids them); style with classes in assets/console.css using logical properties only
//     (margin-inline, inset-inline-start, text-align: start) so Arabic mirrors by itself. Page
//     titles never hold child data. A piece several pages show is a named template of its own in
//     templates/shared/ (every page is parsed with them), such as "device_table".
//  4. Strings: add every id to locales/console.en.yaml and its five translations
//     (console.<code>.yaml); the completeness test in locales fails when one lacks an id.
//  5. Matrix: add "METHOD /console/things" with its roles to accessMatrix in api/matrix_test.go.
//  6. Tests: a handler test through HTTP (api/console_test.go's consoleSignIn and consoleClient)
//     for access and content, and a browser test (api/browser_test.go's newTab, signIn, open,
//     fill, submit, text, and axe, which fails on serious or critical accessibility violations).
package console
