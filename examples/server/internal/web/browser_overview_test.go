package web

import (
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/examples/server/internal/auth"
)

// TestBrowserOverviewShowsTheTraffic: after demo conversations, Обзор in
// Chromium at 375 px shows non-zero counts, and the chart's bars are drawn
// (the SVG with its app.css colours, no script) with the hour's numbers in
// the table below.
func TestBrowserOverviewShowsTheTraffic(t *testing.T) {
	f := start(t, fixtureOpts{})
	f.user(t, "admin", auth.RoleAdmin)
	playBot(t, f, 3)
	d := newShotDriver(t, f.h.URL)
	d.login("admin", goodPassword)
	require.Equal(t, "Обзор", d.text("h1"))

	count := func(id string) int {
		t.Helper()
		n, err := strconv.Atoi(d.text("#" + id))
		require.NoError(t, err)
		return n
	}
	received, leads := count("ws-demo-received"), count("ws-demo-leads")
	require.Positive(t, received)
	require.Positive(t, leads)
	require.Zero(t, count("ws-demo-errors"))

	// The chart is drawn: 72 bars, the current hour's received bar tall and
	// filled with the stylesheet's colour.
	require.Equal(t, 72, d.eval(`document.querySelectorAll("#ws-demo-chart rect").length`))
	require.Greater(t, d.eval(`Math.round([...document.querySelectorAll("#ws-demo-chart rect.received")].pop().getBoundingClientRect().height)`), 40)
	require.Equal(t, 1, d.eval(`getComputedStyle(document.querySelector("#ws-demo-chart rect.leads")).fill.startsWith("rgb(30, 123, 60)") ? 1 : 0`))
	require.LessOrEqual(t, d.eval(`Math.round(document.querySelector("#ws-demo-chart").getBoundingClientRect().width)`), 375)
	d.fitsPhone()
	d.shoot("overview")

	// The accessible table: the last hour holds the counts.
	d.run(chromedp.Click("#ws-demo .chart-table summary"), chromedp.WaitVisible("#ws-demo .chart-table tbody tr:last-child td:nth-child(2)"))
	require.Equal(t, strconv.Itoa(received), d.text("#ws-demo .chart-table tbody tr:last-child td:nth-child(2)"))
	d.fitsPhone()
	d.shoot("overview-table")
}
