package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// The console's browser tests drive a real headless Chromium (the OS package: apt-get install
// chromium) against the shared test server with chromedp. Without a browser they skip, saying so.
// On failure a test saves a screenshot and logs where. With CONSOLE_SCREENSHOTS=<folder> set, the
// tests also save the screenshots the README shows (go test ./api -run TestBrowser with
// CONSOLE_SCREENSHOTS=$PWD/docs/console).
//
// To write one: tab := newTab(t, 1024, 768); tab.signIn(username, password); tab.open(path);
// tab.fill / tab.click / tab.text; tab.axe() fails on serious or critical accessibility violations.

//go:embed testdata/axe/axe.min.js
var axeSource string

// chromiumPath finds the browser: $CHROMIUM, else chromium, chromium-browser or google-chrome on
// the PATH, else /usr/bin/chromium. "" when there is none.
func chromiumPath() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "/usr/bin/chromium"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// tab is one browser tab with cookies of its own (a browser context of its own in the package's one
// browser) showing the shared test server.
type tab struct {
	t    *testing.T
	ctx  context.Context
	base string
}

// browserStep bounds each browser action: far more than any page needs, so a hang fails the test
// instead of the whole run.
const browserStep = 30 * time.Second

// The package's tests share one headless Chromium, started on first use and closed by TestMain
// (stopBrowser): starting a browser costs seconds of CPU, a browser context of its own costs
// milliseconds and keeps each tab's cookies apart as well.
var (
	browserOnce sync.Once
	browserCtx  context.Context // the browser's first tab; every tab is a child of it
	browserErr  error
	stopBrowser = func() {}
)

// sharedBrowser starts Chromium at path once and returns the context tabs are made from.
func sharedBrowser(path string) (context.Context, error) {
	browserOnce.Do(func() {
		opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU,
			chromedp.WindowSize(1024, 768), chromedp.Flag("lang", "en"))
		allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancel := chromedp.NewContext(allocCtx)
		stopBrowser = func() { cancel(); cancelAlloc() }
		if browserErr = chromedp.Do(ctx, chromedp.Navigate("about:blank")); browserErr != nil {
			stopBrowser()
			return
		}
		browserCtx = ctx
	})
	return browserCtx, browserErr
}

// Tabs are kept for the next test when a test passes (tabPool): making a browser context and its
// renderer costs more than a second of CPU, and the browser tests made about twenty. A tab given
// back shows about:blank with every cookie of its browser context cleared, so the next test starts
// signed out as in a new one.
var (
	tabPoolMu sync.Mutex
	tabPool   []pooledTab
)

// pooledTab is a tab with a browser context of its own, kept for the next test.
type pooledTab struct {
	ctx    context.Context
	cancel context.CancelFunc
}

// takeTab returns a kept tab, or opens one with a browser context of its own in browser.
func takeTab(browser context.Context) pooledTab {
	tabPoolMu.Lock()
	defer tabPoolMu.Unlock()
	if n := len(tabPool); n > 0 {
		p := tabPool[n-1]
		tabPool = tabPool[:n-1]
		return p
	}
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	return pooledTab{ctx: ctx, cancel: cancel}
}

// giveBack signs p out (clears every cookie of its browser context, and checks that none is left
// for the console at base), shows about:blank and keeps it for the next test; a tab that cannot be
// reset so is closed. The Network domain's commands act on the tab's own browser context.
func giveBack(p pooledTab, base string) {
	ctx, cancel := context.WithTimeout(p.ctx, browserStep)
	defer cancel()
	err := chromedp.Do(ctx, chromedp.Navigate("about:blank"), chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
			return err
		}
		left, err := cdp.Call(ctx, t, network.GetCookies, network.GetCookiesParams{URLs: []string{base + "/console/"}})
		if err == nil && len(left.Cookies) > 0 {
			err = fmt.Errorf("%d cookies left after clearing", len(left.Cookies))
		}
		return err
	}))
	if err != nil {
		p.cancel()
		return
	}
	tabPoolMu.Lock()
	defer tabPoolMu.Unlock()
	tabPool = append(tabPool, p)
}

// newTab opens a tab with a viewport of width x height and cookies of its own in the shared
// browser (a kept tab, see tabPool), or skips the test when no browser is installed. A failed test
// leaves a screenshot of the page it was on.
func newTab(t *testing.T, width, height int) *tab {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		t.Skip("no Chromium browser found (set CHROMIUM, or apt-get install chromium): the console's browser tests are skipped")
	}
	base := server(t).base
	browser, err := sharedBrowser(path)
	if err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	p := takeTab(browser)
	tb := &tab{t: t, ctx: p.ctx, base: base}
	if err := chromedp.Do(p.ctx, chromedp.EmulateViewport(int64(width), int64(height)), chromedp.Navigate("about:blank")); err != nil {
		p.cancel()
		t.Fatalf("opening a tab in %s: %v", path, err)
	}
	t.Cleanup(func() {
		if !t.Failed() {
			giveBack(p, base)
			return
		}
		dir := filepath.Join(os.TempDir(), "caseguide-console-failures")
		_ = os.MkdirAll(dir, 0o700)
		file := filepath.Join(dir, strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())+".png")
		if png, err := tb.run(chromedp.FullScreenshot(100)); err == nil && os.WriteFile(file, png, 0o600) == nil {
			t.Logf("screenshot of the page at the failure: %s", file)
		}
		p.cancel()
	})
	return tb
}

// run runs one chromedp action with the step timeout.
func (tb *tab) run(a chromedp.Action[[]byte]) ([]byte, error) {
	ctx, cancel := context.WithTimeout(tb.ctx, browserStep)
	defer cancel()
	return chromedp.Run(ctx, a)
}

// do runs actions that return nothing, failing the test on error.
func (tb *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, browserStep)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		tb.t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression in the page and decodes its value into out.
func (tb *tab) eval(expr string, out any) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, browserStep)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.t.Fatalf("evaluating %.80s: %v", expr, err)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		tb.t.Fatalf("decoding %s: %v", raw, err)
	}
}

// open loads a console path and waits for its main landmark.
func (tb *tab) open(path string) {
	tb.t.Helper()
	tb.do("opening "+path, chromedp.Navigate(tb.base+path), chromedp.WaitVisible(chromedp.CSS("main")))
}

// path returns the path (and query) the tab shows.
func (tb *tab) path() string {
	tb.t.Helper()
	var p string
	tb.eval(`location.pathname + location.search`, &p)
	return p
}

// fill types value into the field sel finds.
func (tb *tab) fill(sel, value string) {
	tb.t.Helper()
	tb.do("filling "+sel, chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.SetValue(chromedp.CSS(sel), value))
}

// submit clicks the button sel finds and waits until the next page has loaded and shows waitFor.
func (tb *tab) submit(sel, waitFor string) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, browserStep)
	defer cancel()
	loaded := chromedp.Events(ctx, page.LoadEventFired) // subscribed before the click
	tb.do("clicking "+sel, chromedp.Click(chromedp.CSS(sel)))
	for _, err := range loaded {
		if err != nil {
			tb.t.Fatalf("waiting for the page after clicking %s: %v", sel, err)
		}
		break
	}
	tb.do("waiting for "+waitFor, chromedp.WaitVisible(chromedp.CSS(waitFor)))
}

// text returns the visible text of the element sel finds.
func (tb *tab) text(sel string) string {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, browserStep)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		tb.t.Fatalf("reading %s: %v", sel, err)
	}
	return s
}

// signIn signs in through the sign-in form and waits for the page it leads to.
func (tb *tab) signIn(username, password string) {
	tb.t.Helper()
	tb.open("/console/login")
	tb.fill("#username", username)
	tb.fill("#password", password)
	tb.submit("#sign-in", "main")
	if p := tb.path(); strings.HasPrefix(p, "/console/login") {
		tb.t.Fatalf("signing in as %s failed: still on %s: %s", username, p, tb.text("main"))
	}
}

// axeViolation is what axe-core reports about one broken rule.
type axeViolation struct {
	ID, Impact, Help string
	Nodes            []struct{ Target []any }
}

// axe runs axe-core (vendored in testdata, injected for the test only) on the page and fails the
// test on every serious or critical violation of the WCAG 2.x A and AA rules.
func (tb *tab) axe() {
	tb.t.Helper()
	var loaded bool
	tb.eval(axeSource+";\ntypeof axe === 'object'", &loaded)
	if !loaded {
		tb.t.Fatal("axe-core did not load")
	}
	var violations []axeViolation
	// resultTypes: only the violations are needed, so axe-core gathers no details of the rules that
	// pass (a third of the run's time).
	tb.eval(`axe.run(document, {resultTypes: ["violations"],
		runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]}})
		.then(r => r.violations)`, &violations)
	for _, v := range violations {
		if v.Impact == "serious" || v.Impact == "critical" {
			var where []string
			for _, n := range v.Nodes {
				where = append(where, fmt.Sprint(n.Target...))
			}
			tb.t.Errorf("accessibility (%s, %s) on %s: %s at %s", v.ID, v.Impact, tb.path(), v.Help, strings.Join(where, "; "))
		}
	}
}

// screenshot saves the page as <CONSOLE_SCREENSHOTS>/<name>.png when that folder is set.
func (tb *tab) screenshot(name string) {
	tb.t.Helper()
	dir := os.Getenv("CONSOLE_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := tb.run(chromedp.CaptureScreenshot())
	if err != nil {
		tb.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		tb.t.Fatal(err)
	}
}

// The first administrator signs in with the generated-style password an admin set, is held on the
// password page until choosing their own, and the pages pass the accessibility check.
func TestBrowserSignInAndChangePassword(t *testing.T) {
	t.Parallel()
	tb := newTab(t, 1024, 768)
	username, _, tk := newUser(t, "admin")
	reset := "temporary passphrase 81"
	if r := post(t, tb.base, "POST", "/v1/users/"+tk.User.ID+"/password", adminToken(t), map[string]string{"password": reset}); r.status != 200 {
		t.Fatalf("reset: %d %s", r.status, r.body)
	}

	tb.open("/console/")
	if p := tb.path(); p != "/console/login?next=/console/" {
		t.Fatalf("signed out, /console/ shows %s", p)
	}
	tb.axe()
	tb.screenshot("sign-in")
	tb.fill("#username", username)
	tb.fill("#password", "wrong passphrase 00")
	tb.submit("#sign-in", "#login-error")
	if got := tb.text("#login-error"); !strings.Contains(got, "not correct") {
		t.Fatalf("wrong password says %q", got)
	}
	tb.axe()

	tb.signIn(username, reset)
	if p := tb.path(); p != "/console/password" {
		t.Fatalf("with a password to change, sign-in leads to %s", p)
	}
	tb.axe()
	tb.fill("#current_password", reset)
	tb.fill("#new_password", "my own admin passphrase 5")
	tb.fill("#confirm_password", "my own admin passphrase 5")
	tb.submit("#change-password", "main h1")
	if p := tb.path(); p != "/console/?notice=password_changed" {
		t.Fatalf("after the change: %s", p)
	}
	if got := tb.text("main"); !strings.Contains(got, "Your password was changed.") {
		t.Errorf("home after the change says %q", got)
	}
	tb.axe()
}
