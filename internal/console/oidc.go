package console

import (
	"crypto/subtle"
	"errors"
	"html/template"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"github.com/childsafe-protocols/caseguide/internal/access"
	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/identity"
	"github.com/childsafe-protocols/caseguide/internal/oidc"
)

// OIDC configures sign-in with the deployment's OpenID Connect provider (nil in Deps: the sign-in
// page offers the password form only, and the provider's routes answer 404).
type OIDC struct {
	// Flow runs the authorization code flow with PKCE against the provider, verifying its ID tokens
	// with the same oidc.Verifier the API checks bearer tokens with.
	Flow *oidc.CodeFlow
	// ProviderName is shown on the sign-in button ("Sign in with <name>").
	ProviderName string
	// RedirectURL is the callback address registered at the provider; empty: this request's
	// scheme and host followed by /console/login/oidc/callback.
	RedirectURL string
}

// The provider's routes, and how long a sign-in started there may take to come back.
const (
	oidcStartPath    = Prefix + "/login/oidc"
	oidcCallbackPath = Prefix + "/login/oidc/callback"
	oidcCookie       = "cg_oidc"
	oidcPendingTTL   = 10 * time.Minute
	oidcMaxPending   = 10000
)

// Why a sign-in through the provider failed, each with its own localized message and status.
var (
	// the callback matches no sign-in started in this browser (unknown, used or expired state)
	errOIDCState = apperr.New(apperr.Invalid, "oidc_state", "console.oidc.bad_state", nil)
	// the provider sent an error, refused the code, or its ID token failed verification or the nonce check
	errOIDCRefused = apperr.New(apperr.Unauthorized, "oidc_refused", "console.oidc.refused", nil)
	// the provider vouched for someone with no enabled user of that username in their organisation
	errOIDCUnknownUser = apperr.New(apperr.Forbidden, "oidc_unknown_user", "console.oidc.unknown_user", nil)
)

// pendingSignIn is a sign-in sent to the provider and not yet back: its challenge, the browser
// cookie value it is bound to, where to go afterwards, and the redirect URL the code is sent to.
type pendingSignIn struct {
	challenge oidc.Challenge
	binding   string
	next      string
	redirect  string
	expires   time.Time
}

// pendingSignIns keeps started sign-ins by state, in this instance's memory: each is taken (and so
// usable) once, and forgotten after oidcPendingTTL.
type pendingSignIns struct {
	mu sync.Mutex
	m  map[string]pendingSignIn
}

// put keeps p under its state, dropping expired entries (and, past oidcMaxPending, refusing).
func (ps *pendingSignIns) put(p pendingSignIn, now time.Time) bool {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.m == nil {
		ps.m = map[string]pendingSignIn{}
	}
	if len(ps.m) >= oidcMaxPending/2 {
		for k, v := range ps.m {
			if now.After(v.expires) {
				delete(ps.m, k)
			}
		}
	}
	if len(ps.m) >= oidcMaxPending {
		return false
	}
	ps.m[p.challenge.State] = p
	return true
}

// take removes and returns the unexpired sign-in started with state.
func (ps *pendingSignIns) take(state string, now time.Time) (pendingSignIn, bool) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	p, ok := ps.m[state]
	delete(ps.m, state)
	return p, ok && now.Before(p.expires)
}

// declareOIDC adds the provider's two routes: both public (the browser is not signed in yet).
func (c *Console) declareOIDC() {
	c.routes = append(c.routes,
		route{method: fiber.MethodGet, path: oidcStartPath, policy: access.Public, h: c.oidcStart},
		route{method: fiber.MethodGet, path: oidcCallbackPath, policy: access.Public, h: c.oidcCallback},
	)
}

// providerName is the provider's name for the sign-in page, "" when none is configured.
func (c *Console) providerName() string {
	if c.deps.OIDC == nil {
		return ""
	}
	return c.deps.OIDC.ProviderName
}

func (c *Console) oidcRedirectURL(r *request) string {
	if u := c.deps.OIDC.RedirectURL; u != "" {
		return u
	}
	return r.c.BaseURL() + oidcCallbackPath
}

// oidcStart sends the browser to the provider's authorization endpoint with a fresh state, nonce
// and PKCE challenge (S256), remembered here and bound to a cookie of this browser (SameSite=Lax,
// so that it comes back with the provider's redirect, which Strict cookies do not).
func (c *Console) oidcStart(r *request) error {
	if c.deps.OIDC == nil {
		return apperr.New(apperr.NotFound, "route_not_found", "ErrRouteNotFound", nil)
	}
	if r.signedIn {
		return r.c.Redirect(safeNext(r.c.Query("next")), fiber.StatusSeeOther)
	}
	// Copied: Fiber's strings point into buffers reused after the request, and these outlive it.
	p := pendingSignIn{challenge: oidc.NewChallenge(), binding: randomToken(), next: utils.CopyString(safeNext(r.c.Query("next"))),
		redirect: utils.CopyString(c.oidcRedirectURL(r)), expires: time.Now().Add(oidcPendingTTL)}
	if !c.pending.put(p, time.Now()) {
		return apperr.New(apperr.TooManyRequests, "oidc_busy", "console.oidc.busy", nil)
	}
	r.c.Cookie(&fiber.Cookie{Name: oidcCookie, Value: p.binding, Path: oidcStartPath, HTTPOnly: true,
		SameSite: fiber.CookieSameSiteLaxMode, Secure: c.secure(r), MaxAge: int(oidcPendingTTL.Seconds())})
	return r.c.Redirect(c.deps.OIDC.Flow.AuthURL(p.redirect, p.challenge), fiber.StatusSeeOther)
}

// oidcCallback finishes a sign-in: the state must match one started in this browser (each is used
// once), the code is exchanged with the PKCE verifier, the ID token verified as the API verifies
// bearer tokens and its nonce checked, and the identity's organisation and username must name an
// enabled user here. Then a console session starts exactly as after the password form (a "Web
// console" device among the user's devices, revocable). Any failure shows the sign-in page with
// its reason and creates nothing.
func (c *Console) oidcCallback(r *request) error {
	if c.deps.OIDC == nil {
		return apperr.New(apperr.NotFound, "route_not_found", "ErrRouteNotFound", nil)
	}
	binding := r.c.Cookies(oidcCookie)
	r.c.Cookie(&fiber.Cookie{Name: oidcCookie, Value: "", Path: oidcStartPath, HTTPOnly: true,
		SameSite: fiber.CookieSameSiteLaxMode, Secure: c.secure(r), MaxAge: -1, Expires: time.Unix(0, 0)})
	p, ok := c.pending.take(r.c.Query("state"), time.Now())
	if !ok || binding == "" || subtle.ConstantTimeCompare([]byte(binding), []byte(p.binding)) != 1 {
		return c.oidcFailed(r, errOIDCState, nil)
	}
	if r.c.Query("error") != "" || r.c.Query("code") == "" {
		return c.oidcFailed(r, errOIDCRefused, errors.New("the provider answered error="+r.c.Query("error")))
	}
	id, err := c.deps.OIDC.Flow.Exchange(r.ctx(), p.redirect, r.c.Query("code"), p.challenge)
	if err != nil {
		if errors.Is(err, oidc.ErrExchange) || errors.Is(err, oidc.ErrInvalid) {
			return c.oidcFailed(r, errOIDCRefused, err)
		}
		return err
	}
	tokens, principal, err := c.deps.Identity.ExternalLogin(r.ctx(), identity.ExternalLoginRequest{OrgID: id.OrgID,
		Username: id.Username, DeviceID: devicePrefix + randomHex(12), DeviceName: DeviceName, SessionTTL: c.deps.Config.Lifetime})
	switch {
	case errors.Is(err, identity.ErrExternalUserUnknown):
		return c.oidcFailed(r, errOIDCUnknownUser, err)
	case err != nil:
		return err
	}
	c.setCookie(r, sessionCookie, tokens.RefreshToken)
	c.clearCookie(r, preSessionCookie)
	next := p.next
	if principal.PasswordChangeRequired {
		next = Prefix + "/password"
	}
	// The browser arrived here from the provider's site, so a redirect would still be a cross-site
	// navigation and the new SameSite=Strict session cookie would not be sent with it. A page of
	// this site that moves on by itself (Refresh) starts a same-site navigation instead.
	r.c.Set("Refresh", "0; url="+next)
	return c.render(r, fiber.StatusOK, "oidc_continue", "console.oidc.continue_title", oidcContinueData{Next: template.URL(next)}, "")
}

type oidcContinueData struct {
	Next template.URL // a console path (safeNext), never another site's address
}

// oidcFailed shows the sign-in page with the localized reason (status from kind), logging why
// (no token or personal data: the reason is the library's or the provider's error text).
func (c *Console) oidcFailed(r *request, e *apperr.Error, why error) error {
	if c.deps.Log != nil && why != nil {
		c.deps.Log.InfoContext(r.ctx(), "console sign-in through the identity provider refused", "code", e.Code, "reason", why.Error())
	}
	c.ensurePreSession(r)
	msg := c.deps.Catalog.Message(r.loc.Code, e.MessageID, map[string]any{"Provider": c.providerName()})
	status := fiber.StatusBadRequest
	switch e.Kind {
	case apperr.Unauthorized:
		status = fiber.StatusUnauthorized
	case apperr.Forbidden:
		status = fiber.StatusForbidden
	}
	return c.render(r, status, "login", "console.login.title", c.withProvider(loginData{Next: Prefix + "/", Error: msg}), "")
}

// withProvider adds the provider's name to the sign-in page's data.
func (c *Console) withProvider(d loginData) loginData {
	d.Provider = c.providerName()
	return d
}
