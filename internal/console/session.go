package console

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/httpapi"
	"github.com/childsafe-protocols/caseguide/internal/i18n"
	"github.com/childsafe-protocols/caseguide/internal/identity"
)

// Cookie names. The session cookie holds the identity session's secret token (only its hash is
// stored); the pre-session cookie binds the sign-in form's CSRF token before there is a session.
const (
	sessionCookie    = "cg_session"
	preSessionCookie = "cg_pre"
	csrfField        = "csrf"
	csrfHeader       = "X-CSRF-Token"
	// DeviceName is the name console sessions' devices get in device lists.
	DeviceName = "Web console"
	// devicePrefix starts the id of every console device (one per sign-in).
	devicePrefix = "console-"
)

// request is one console request: the Fiber context, the signed-in principal (when there is one),
// the locale the page is shown in and the session's cookie value.
type request struct {
	c        *fiber.Ctx
	p        identity.Principal
	signedIn bool
	loc      i18n.Locale
	token    string // the session cookie's value (copied out of fasthttp's buffers)
}

// newRequest starts a request in the locale the HTTP layer negotiated (?lang=, Accept-Language).
func (c *Console) newRequest(fc *fiber.Ctx) *request {
	loc, ok := c.deps.Catalog.Locale(httpapi.Locale(fc.UserContext()))
	if !ok {
		loc, _ = c.deps.Catalog.Negotiate("", fc.Get(fiber.HeaderAcceptLanguage))
	}
	return &request{c: fc, loc: loc}
}

// readSession authenticates the session cookie, if any: the identity service checks it (current
// token, not revoked, not expired, used within the idle timeout, device and user still valid) and
// returns the principal. The user's stored language wins over the browser's. It returns the
// identity service's denial for a bad session (the cookie is then dropped), or the store's error.
func (c *Console) readSession(r *request) error {
	raw := r.c.Cookies(sessionCookie)
	if raw == "" {
		return nil
	}
	r.token = utils.CopyString(raw)
	p, err := c.deps.Identity.WebSession(r.ctx(), r.token, c.deps.Config.IdleTimeout)
	if err != nil {
		if isSignInProblem(err) {
			c.clearCookie(r, sessionCookie)
			r.token = ""
		}
		return err
	}
	r.p, r.signedIn = p, true
	if l, ok := c.deps.Catalog.Locale(p.Locale); ok {
		r.loc = l
	}
	return nil
}

// csrfToken returns the CSRF token of the request's session (or, before sign-in, of its
// pre-session cookie): a hash of the cookie's secret value, which a page of another site can
// neither read nor compute. Empty when there is neither cookie.
func (r *request) csrfToken() string {
	base := r.token
	if base == "" {
		base = r.c.Cookies(preSessionCookie)
	}
	if base == "" {
		return ""
	}
	sum := sha256.Sum256([]byte("caseguide console csrf\x00" + base))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// errCSRF refuses a state-changing request without the session's CSRF token.
var errCSRF = apperr.New(apperr.Forbidden, "csrf_failed", "console.error.csrf", nil)

// checkCSRF is the one check of every state-changing console request: the form field csrf (or the
// X-CSRF-Token header) must carry the token bound to the session cookie (or, for the sign-in form,
// to the pre-session cookie).
func (c *Console) checkCSRF(r *request) error {
	want := r.csrfToken()
	got := r.c.FormValue(csrfField)
	if got == "" {
		got = r.c.Get(csrfHeader)
	}
	if want == "" || subtle.ConstantTimeCompare([]byte(want), []byte(got)) != 1 {
		return errCSRF
	}
	return nil
}

// setCookie sets a console cookie: HttpOnly, SameSite=Strict, path /console, Secure per the
// configuration, no expiry (it ends with the browser; the server ends the session earlier).
func (c *Console) setCookie(r *request, name, value string) {
	r.c.Cookie(&fiber.Cookie{Name: name, Value: value, Path: Prefix, HTTPOnly: true, SameSite: fiber.CookieSameSiteStrictMode,
		Secure: c.secure(r)})
}

func (c *Console) clearCookie(r *request, name string) {
	r.c.Cookie(&fiber.Cookie{Name: name, Value: "", Path: Prefix, HTTPOnly: true, SameSite: fiber.CookieSameSiteStrictMode,
		Secure: c.secure(r), MaxAge: -1, Expires: time.Unix(0, 0)})
}

func (c *Console) secure(r *request) bool {
	switch c.deps.Config.SecureCookie {
	case CookieSecureAlways:
		return true
	case CookieSecureNever:
		return false
	default:
		return r.c.Secure()
	}
}

// safeNext returns next when it is a console path of this site (never another site's address, so
// the sign-in form cannot be used to redirect elsewhere), else the console's home.
func safeNext(next string) string {
	if strings.HasPrefix(next, Prefix+"/") && !strings.HasPrefix(next, Prefix+"//") && !strings.ContainsAny(next, "\\\r\n") &&
		!strings.HasPrefix(next, Prefix+"/login") {
		return next
	}
	return Prefix + "/"
}

type loginData struct {
	Username string
	Next     string
	Error    string // localized
	Provider string // the OpenID Connect provider's name, "" when none is configured (oidc.go)
}

// loginPage shows the sign-in form; a signed-in user goes straight to the console.
func (c *Console) loginPage(r *request) error {
	if r.signedIn {
		return r.c.Redirect(safeNext(r.c.Query("next")), fiber.StatusSeeOther)
	}
	c.ensurePreSession(r)
	var notice string
	if r.c.Query("signed_out") == "1" {
		notice = "console.login.signed_out"
	}
	return c.render(r, fiber.StatusOK, "login", "console.login.title", c.withProvider(loginData{Next: safeNext(r.c.Query("next"))}), notice)
}

// ensurePreSession gives the browser a pre-session cookie for the sign-in form's CSRF token.
func (c *Console) ensurePreSession(r *request) {
	if r.c.Cookies(preSessionCookie) != "" {
		return
	}
	v := randomToken()
	c.setCookie(r, preSessionCookie, v)
	r.c.Request().Header.SetCookie(preSessionCookie, v) // so this very response's form carries its token
}

// login signs in through identity.Service.Login (its throttling, password checks and audit
// entries) on a new console device, and sets the session cookie.
func (c *Console) login(r *request) error {
	username, password := r.c.FormValue("username"), r.c.FormValue("password")
	next := safeNext(r.c.FormValue("next"))
	tokens, p, err := c.deps.Identity.Login(r.ctx(), identity.LoginRequest{Username: username, Password: password,
		DeviceID: devicePrefix + randomHex(12), DeviceName: DeviceName, ClientAddr: r.c.IP(), SessionTTL: c.deps.Config.Lifetime})
	if err != nil {
		status, msg := fiber.StatusBadRequest, ""
		var locked *identity.LockedError
		switch {
		case errors.As(err, &locked):
			status = fiber.StatusTooManyRequests
			r.c.Set(fiber.HeaderRetryAfter, itoa(int(locked.RetryAfter.Seconds()+0.999)))
			msg = c.deps.Catalog.Message(r.loc.Code, locked.MessageID(), map[string]any{"Seconds": int(locked.RetryAfter.Seconds() + 0.999)})
		case errors.Is(err, identity.ErrBadCredentials), errors.Is(err, identity.ErrDeviceRevoked):
			status, msg = fiber.StatusUnauthorized, c.deps.Catalog.Message(r.loc.Code, "ErrBadCredentials", nil)
		case apperr.KindOf(err) == apperr.Invalid:
			msg = c.deps.Catalog.Message(r.loc.Code, "console.login.missing", nil)
		default:
			return err
		}
		return c.render(r, status, "login", "console.login.title", c.withProvider(loginData{Username: username, Next: next, Error: msg}), "")
	}
	c.setCookie(r, sessionCookie, tokens.RefreshToken)
	c.clearCookie(r, preSessionCookie)
	if p.PasswordChangeRequired {
		return r.c.Redirect(Prefix+"/password", fiber.StatusSeeOther)
	}
	return r.c.Redirect(next, fiber.StatusSeeOther)
}

// logout ends the session (as POST /v1/auth/logout does) and drops the cookie.
func (c *Console) logout(r *request) error {
	if err := c.deps.Identity.Logout(r.ctx(), r.p); err != nil {
		return err
	}
	c.clearCookie(r, sessionCookie)
	return r.c.Redirect(Prefix+"/login?signed_out=1", fiber.StatusSeeOther)
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
