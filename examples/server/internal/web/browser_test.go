package web

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/examples/server/internal/apptest"
	"github.com/chatterhq/sdk/examples/server/internal/auth"
)

// browserContext starts a headless Chromium with a phone's viewport
// (375 px), or skips the test when none is installed — unless
// CHATTER_TEST_BROWSER=require (CI sets it), when a missing browser fails.
func browserContext(t *testing.T) context.Context {
	t.Helper()
	if _, err := exec.LookPath("chromium"); err != nil {
		if _, err := exec.LookPath("google-chrome"); err != nil {
			if os.Getenv("CHATTER_TEST_BROWSER") == "require" {
				t.Fatal("CHATTER_TEST_BROWSER=require but no chromium on PATH (apt-get install -y chromium)")
			}
			t.Skip("no chromium on PATH (apt-get install -y chromium)")
		}
	}
	// The flags of a machine with a closed network: no background
	// connections, no component updates.
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.WindowSize(375, 812), chromedp.NoSandbox,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true), chromedp.Flag("no-first-run", true))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	ctx, cancel3 := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(cancel3)
	require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(375, 812)))
	return ctx
}

// TestInARealBrowser: the forms work in Chromium (its Origin and
// Sec-Fetch-Site headers pass the cross-origin check), the layout
// indicator follows what is typed, and no page is wider than a 375 px
// phone screen. Full-page screenshots go to artifactsDir.
func TestInARealBrowser(t *testing.T) {
	ctx := browserContext(t)
	f := start(t, fixtureOpts{})
	f.user(t, "admin", auth.RoleAdmin)
	ivan := f.user(t, "ivan", auth.RoleManager, apptest.Workspace)
	shots := artifactsDir(t)
	shoot := func(name string) {
		t.Helper()
		buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(shots, cmpOr(name, "overview")+".png"), buf, 0o644))
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(sel))
		require.NoError(t, err)
		return strings.TrimSpace(s)
	}
	fits := func(path string) {
		t.Helper()
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(f.h.URL+path), chromedp.WaitReady("main")))
		width, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
		require.NoError(t, err)
		require.LessOrEqual(t, width, 375, "%s is wider than the phone", path)
		shoot(strings.Trim(strings.ReplaceAll(path, "/", "_"), "_"))
	}

	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(f.h.URL+"/login"),
		chromedp.WaitVisible("#login"),
		chromedp.SendKeys("#login", "admin"),
		chromedp.SendKeys("#password", "Сщ"), // "Co" in the Russian layout
	))
	require.Equal(t, "раскладка: RU", text("#password-layout"))
	_, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("password").value = ""`))
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(ctx, chromedp.SendKeys("#password", goodPassword)))
	require.Equal(t, "раскладка: EN", text("#password-layout"))
	shoot("login-typed")

	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(`form[action="/login"] button[type="submit"]`),
		chromedp.WaitVisible(`nav`),
	))
	require.Equal(t, "Обзор", text("h1"), "the browser's form post passed the cross-origin check")

	for _, path := range []string{"/", "/users", "/users/new", "/users/" + ivan.ID, "/profile", "/deliveries"} {
		fits(path)
	}
	// A form that changes something, from the browser.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(f.h.URL+"/users/"+ivan.ID),
		chromedp.Click("#block_confirm"),
		chromedp.Click(`form[action="/users/`+ivan.ID+`/block"] button[type="submit"]`),
		chromedp.WaitVisible(".alert"),
	))
	require.Equal(t, "Пользователь ivan заблокирован.", text(".alert"))
	require.True(t, f.get(t, ivan.ID).Blocked())

	require.NoError(t, chromedp.Do(ctx, chromedp.Click(`form[action="/logout"] button`), chromedp.WaitVisible("#login")))
	for _, path := range []string{"/login", "/forgot"} {
		fits(path)
	}
}

// artifactsDir is where browser tests save their full-page screenshots:
// $CHATTER_TEST_ARTIFACTS/web, by default test-artifacts/web at the module's
// root (ignored by git; CI keeps it).
func artifactsDir(t *testing.T) string {
	t.Helper()
	base := os.Getenv("CHATTER_TEST_ARTIFACTS")
	if base == "" {
		base = filepath.Join("..", "..", "..", "..", "test-artifacts")
	}
	dir := filepath.Join(base, "web", t.Name())
	require.NoError(t, os.MkdirAll(dir, 0o755))
	return dir
}
