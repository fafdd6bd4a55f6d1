package web

import (
	"context"
	"strconv"
	"time"

	"github.com/chatterhq/sdk/chatter"
)

// The overview's chart: messages received, leads created and errors per
// hour over the last 24 hours, counted from the ledger (CountEntries over
// each hour's From/To of ReceivedAt) and drawn as an SVG on the server:
// no script, no inline style (the colours are app.css's classes).

// overviewHours is the number of hourly buckets.
const overviewHours = 24

// overviewHour is one bucket: entries received in [Start, End).
type overviewHour struct {
	Start, End time.Time
	Received   int // every state
	Leads      int // leads created (LedgerQuery.NewLead)
	Errors     int // dead, failed and rejected
}

// overviewBuckets counts the ledger of ws by hour: the current hour (in
// loc) and the 23 before it.
func overviewBuckets(ctx context.Context, l ledgerCounter, ws string, now time.Time, loc *time.Location) ([]overviewHour, error) {
	t := now.In(loc)
	cur := time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), 0, 0, 0, loc)
	out := make([]overviewHour, overviewHours)
	for i := range out {
		start := cur.Add(-time.Duration(overviewHours-1-i) * time.Hour)
		h := overviewHour{Start: start, End: start.Add(time.Hour)}
		counts, err := l.CountEntries(ctx, chatter.LedgerQuery{Workspace: ws, From: h.Start, To: h.End})
		if err != nil {
			return nil, err
		}
		for _, n := range counts {
			h.Received += n
		}
		h.Errors = counts[chatter.StateDead] + counts[chatter.StateFailed] + counts[chatter.StateRejected]
		if h.Leads, err = overviewLeads(ctx, l, ws, h.Start, h.End); err != nil {
			return nil, err
		}
		out[i] = h
	}
	return out, nil
}

// ledgerCounter is the part of the store the chart reads.
type ledgerCounter interface {
	CountEntries(ctx context.Context, q chatter.LedgerQuery) (map[chatter.State]int, error)
}

// overviewLeads is the number of leads created from the messages received
// in [from, to) (LedgerQuery.NewLead: delivered as a new lead, not as a
// note on an open one).
func overviewLeads(ctx context.Context, l ledgerCounter, ws string, from, to time.Time) (int, error) {
	counts, err := l.CountEntries(ctx, chatter.LedgerQuery{Workspace: ws, From: from, To: to, NewLead: true})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, c := range counts {
		n += c
	}
	return n, nil
}

// overviewChart is the SVG of the buckets: viewBox units, bars per hour
// (received, leads, errors side by side), a scale and hour labels.
type overviewChart struct {
	W, H   int
	Bars   []overviewBar
	Grid   []overviewTick
	Labels []overviewLabel
	Max    int
}

type overviewBar struct {
	Class      string // received, leads, errors
	X, Y, W, H string
	Title      string
}

type overviewTick struct {
	Y, Label string
}

type overviewLabel struct {
	X, Text string
}

// Chart geometry, in viewBox units.
const (
	chartW, chartH  = 720, 260
	chartLeft       = 44 // room for the scale
	chartTop        = 12
	chartBottom     = 28 // room for the hour labels
	chartLabelEvery = 4  // an hour label every 4 hours
)

// newOverviewChart lays out hours; title names a bar for its tooltip
// (series, hour, count).
func newOverviewChart(hours []overviewHour, title func(series string, h overviewHour, n int) string, hourLabel func(time.Time) string) overviewChart {
	c := overviewChart{W: chartW, H: chartH}
	for _, h := range hours {
		c.Max = max(c.Max, h.Received, h.Leads, h.Errors)
	}
	top := overviewNiceMax(c.Max)
	plotH := float64(chartH - chartTop - chartBottom)
	plotW := float64(chartW - chartLeft)
	slot := plotW / float64(len(hours))
	barW := slot * 0.26
	y := func(n int) float64 { return float64(chartTop) + plotH - plotH*float64(n)/float64(top) }
	for _, f := range []int{0, top / 2, top} {
		if f == 0 && top == 0 {
			continue
		}
		c.Grid = append(c.Grid, overviewTick{Y: overviewNum(y(f)), Label: strconv.Itoa(f)})
	}
	for i, h := range hours {
		x0 := float64(chartLeft) + slot*float64(i) + slot*0.1
		for j, s := range []struct {
			class string
			n     int
		}{{"received", h.Received}, {"leads", h.Leads}, {"errors", h.Errors}} {
			top := y(s.n)
			c.Bars = append(c.Bars, overviewBar{Class: s.class, X: overviewNum(x0 + barW*float64(j)), Y: overviewNum(top),
				W: overviewNum(barW), H: overviewNum(float64(chartTop) + plotH - top), Title: title(s.class, h, s.n)})
		}
		if i%chartLabelEvery == 0 {
			c.Labels = append(c.Labels, overviewLabel{X: overviewNum(x0), Text: hourLabel(h.Start)})
		}
	}
	return c
}

// overviewNiceMax rounds n up to 1, 2 or 5 times a power of ten (at
// least 2, so that the middle line is a whole number).
func overviewNiceMax(n int) int {
	if n <= 2 {
		return 2
	}
	for p := 1; ; p *= 10 {
		for _, m := range []int{1, 2, 5} {
			if m*p >= n {
				return m * p
			}
		}
	}
}

func overviewNum(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }
