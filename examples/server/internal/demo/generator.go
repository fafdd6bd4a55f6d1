package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatterhq/sdk/chatter"
)

// Pace of the generator.
const (
	// DefaultRate is one message every two seconds.
	DefaultRate = 0.5
	// Jitter is how far each interval strays from 1/Rate, as a fraction:
	// intervals are uniform in [(1-Jitter)/Rate, (1+Jitter)/Rate].
	Jitter = 0.2
)

// GeneratorConfig configures a Generator.
type GeneratorConfig struct {
	// Seed selects the script. A data directory keeps the seed it was
	// first played with; another seed is refused (*SeedError).
	Seed uint64
	// Rate is the pace in messages per second (events: messages, edits,
	// contact shares, re-posts; a repeat is not an extra message). 0 means
	// DefaultRate.
	Rate float64
	// Conversations, when above 0, makes Run return after that many more
	// conversations are complete (see ScriptLen); 0 runs until ctx ends.
	Conversations int
	// Wait waits d or until ctx ends (then it returns ctx's error). It is
	// how the pace is kept; tests inject one that records d and returns at
	// once. Defaults to a timer on ctx.
	Wait func(ctx context.Context, d time.Duration) error
	// Logger receives one line per event (never the text); nil is silent.
	Logger *slog.Logger
}

// SeedError is returned by NewGenerator when the data directory was played
// with another seed: its people, leads and ids belong to that script.
type SeedError struct {
	Saved, Given uint64
}

func (e *SeedError) Error() string { return e.Message().EN }

// Message is the operator's text of the error.
func (e *SeedError) Message() chatter.Text {
	return chatter.T(
		fmt.Sprintf("каталог данных демо заполнен сценарием с зерном %d, а задано %d: задайте %d или укажите новый каталог", e.Saved, e.Given, e.Saved),
		fmt.Sprintf("the demo data directory was played with seed %d, not %d: use seed %d or a new directory", e.Saved, e.Given, e.Saved))
}

// Played is an event as the fakes made it.
type Played struct {
	Event
	// ChatID and MessageID are the message's chat (Bot API form: the
	// person's id for the bot, -100… for a group) and id, as in its
	// chatter.Key; Revision is an edit's edit date (Key.Revision), else 0.
	ChatID    int64
	MessageID int64
	Revision  int64
	// Time is the message's date (the edit date for an edit).
	Time time.Time
}

// Generator plays the script into an Env at a steady pace: private
// messages to the bot (with edits, shared contacts and repeated updates)
// and posts in the two parsed groups (with re-posts and chit-chat the
// keyword rules filter out). It continues where the previous Run on the
// same data directory stopped: the position is saved with the Env's state
// after every event.
type Generator struct {
	env     *Env
	cfg     GeneratorConfig
	log     *slog.Logger
	running atomic.Bool

	mu     sync.Mutex
	played []Played
}

// NewGenerator validates cfg against env's saved state. It starts nothing.
func NewGenerator(env *Env, cfg GeneratorConfig) (*Generator, error) {
	if env == nil {
		return nil, errors.New("demo: NewGenerator: nil Env")
	}
	if cfg.Rate == 0 {
		cfg.Rate = DefaultRate
	}
	if cfg.Rate < 0 || math.IsNaN(cfg.Rate) || math.IsInf(cfg.Rate, 0) {
		return nil, fmt.Errorf("demo: generator rate %v: want messages per second above 0", cfg.Rate)
	}
	if cfg.Conversations < 0 {
		return nil, fmt.Errorf("demo: generator conversations %d: want 0 (endless) or more", cfg.Conversations)
	}
	if cfg.Wait == nil {
		cfg.Wait = wait
	}
	env.mu.Lock()
	gs := env.generator
	env.mu.Unlock()
	if gs.Started && gs.Seed != cfg.Seed {
		return nil, &SeedError{Saved: gs.Seed, Given: cfg.Seed}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Generator{env: env, cfg: cfg, log: log}, nil
}

// Position returns how many events of the script have been played on the
// Env's data directory, over all runs: Plan(seed, Position()) is what the
// pipeline must have made of them.
func (g *Generator) Position() int {
	g.env.mu.Lock()
	defer g.env.mu.Unlock()
	if !g.env.generator.Started {
		return 0
	}
	return g.env.generator.Position
}

// maxPlayed bounds the events a Generator remembers for Played.
const maxPlayed = 10_000

// Played returns the events played by this Generator, oldest first (at
// most the last 10 000).
func (g *Generator) Played() []Played {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]Played(nil), g.played...)
}

// Interval returns the pause before event seq of the script of seed at
// rate (messages per second): 1/rate, off by up to Jitter, the same on
// every run.
func Interval(seed uint64, seq int, rate float64) time.Duration {
	u := float64(splitmix(seed^uint64(seq)*0x9e3779b97f4a7c15)>>11) / (1 << 53) // [0, 1)
	return time.Duration(float64(time.Second) / rate * (1 + Jitter*(2*u-1)))
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// Run plays events until ctx ends (then it returns nil) or, with
// Conversations set, until that many more conversations are complete.
// The first event is played at once, each next one Interval after the
// previous. It returns an error when the Env fails (then the event was not
// counted as played) and must not be called twice at the same time.
func (g *Generator) Run(ctx context.Context) error {
	if !g.running.CompareAndSwap(false, true) {
		return errors.New("demo: Generator.Run: already running")
	}
	defer g.running.Store(false)
	seed := g.cfg.Seed
	start := g.Position()
	target := -1
	if g.cfg.Conversations > 0 {
		target = ScriptLen(seed, conversationsDone(seed, start)+g.cfg.Conversations)
	}
	s := newScheduler(seed)
	for range start {
		s.next()
	}
	g.log.Info("demo: generator started", slog.Uint64("seed", seed), slog.Int("position", start),
		slog.Int("until", target), slog.Float64("rate", g.cfg.Rate))
	for seq := start; target < 0 || seq < target; seq++ {
		ev := s.next()
		if seq > start {
			if err := g.cfg.Wait(ctx, Interval(seed, seq, g.cfg.Rate)); err != nil {
				return nil
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		p, err := g.apply(ev)
		if err != nil {
			return fmt.Errorf("demo: event %d: %w", ev.Seq, err)
		}
		g.env.mu.Lock()
		g.env.generator = generatorState{Seed: seed, Started: true, Position: seq + 1}
		g.env.mu.Unlock()
		if err := g.env.save(false); err != nil {
			return err
		}
		g.mu.Lock()
		if len(g.played) == maxPlayed {
			g.played = append(g.played[:0:0], g.played[maxPlayed/2:]...)
		}
		g.played = append(g.played, p)
		g.mu.Unlock()
		g.log.Info("demo: message", slog.Int("seq", ev.Seq), slog.String("chat", ev.Chat),
			slog.String("intent", ev.Intent), slog.String("kind", string(ev.Kind)), slog.Bool("repeat", ev.Repeat))
	}
	return nil
}

// apply makes the fakes produce ev.
func (g *Generator) apply(ev Event) (Played, error) {
	g.env.mu.Lock()
	closed := g.env.closed
	g.env.mu.Unlock()
	if closed {
		return Played{}, errors.New("the demo environment is closed")
	}
	p := Played{Event: ev}
	i := ev.Person.Index
	if ev.Chat == ChatBot {
		w := g.env.bot
		switch ev.Kind {
		case KindMessage:
			m := w.write(i, ev.Text, ev.Repeat)
			p.ChatID, p.MessageID, p.Time = m.Chat.ID, m.MessageID, time.Unix(m.Date, 0).UTC()
		case KindContact:
			m := w.shareContact(i, ev.Repeat)
			p.ChatID, p.MessageID, p.Time = m.Chat.ID, m.MessageID, time.Unix(m.Date, 0).UTC()
		case KindEdit:
			m, err := w.edit(i, ev.Text, ev.Repeat)
			if err != nil {
				return p, err
			}
			p.ChatID, p.MessageID, p.Revision, p.Time = m.Chat.ID, m.MessageID, m.EditDate, time.Unix(m.EditDate, 0).UTC()
		default:
			return p, fmt.Errorf("unknown bot event kind %q", ev.Kind)
		}
		return p, nil
	}
	gi := groupIndex(ev.Chat)
	if gi < 0 {
		return p, fmt.Errorf("unknown chat %q", ev.Chat)
	}
	id, at, err := g.env.tg.post(gi, i, ev.Text)
	if err != nil {
		return p, err
	}
	p.ChatID, p.MessageID, p.Time = g.env.Groups[gi].ChatID, int64(id), at
	return p, nil
}

// wait is the default GeneratorConfig.Wait.
func wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
