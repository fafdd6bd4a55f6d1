package chatter_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/chattertest"
)

func newBenchPipeline(b *testing.B, logger *slog.Logger) *chatter.Pipeline {
	b.Helper()
	p, err := chatter.NewPipeline(chatter.PipelineConfig{
		Store:  chattertest.NewMemStore(),
		Sink:   chattertest.NewRecordingSink(),
		Logger: logger,
	})
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkPipelineAccept measures Accept of new messages (validate, filter,
// SaveMessage) on the in-memory store. The copy of the message made per
// iteration is included.
func BenchmarkPipelineAccept(b *testing.B) {
	p := newBenchPipeline(b, nil)
	tmpl := chattertest.NewMessage("bench", -100123, 1, "")
	ctx := context.Background()
	var id int64
	b.ReportAllocs()
	for b.Loop() {
		id++
		m := *tmpl
		m.Key.MessageID = id
		if _, err := p.Accept(ctx, &m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPipelineAcceptDuplicate measures Accept of a key already stored
// (a redelivery): the common case for a webhook retried by Telegram.
func BenchmarkPipelineAcceptDuplicate(b *testing.B) {
	p := newBenchPipeline(b, nil)
	m := chattertest.NewMessage("bench", -100123, 1, "")
	ctx := context.Background()
	if _, err := p.Accept(ctx, m); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if r, err := p.Accept(ctx, m); err != nil || !r.Duplicate {
			b.Fatal(r, err)
		}
	}
}

// BenchmarkPipelineAcceptBatch50 measures AcceptBatch of 50 new messages
// (group commit); ns/op is per batch.
func BenchmarkPipelineAcceptBatch50(b *testing.B) {
	p := newBenchPipeline(b, nil)
	tmpl := chattertest.NewMessage("bench", -100123, 1, "")
	ctx := context.Background()
	batch := make([]*chatter.Message, 50)
	var id int64
	b.ReportAllocs()
	for b.Loop() {
		for i := range batch {
			id++
			m := *tmpl
			m.Key.MessageID = id
			batch[i] = &m
		}
		if _, err := p.AcceptBatch(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPipelineAcceptEventLog is BenchmarkPipelineAccept with the
// pipeline logging into an EventLog (buffered; Run is not running, so the
// buffer fills and further events are counted as dropped, as under a stalled
// store).
func BenchmarkPipelineAcceptEventLog(b *testing.B) {
	el, err := chatter.NewEventLog(chattertest.NewMemStore(), nil, chatter.EventLogConfig{})
	if err != nil {
		b.Fatal(err)
	}
	p := newBenchPipeline(b, slog.New(el))
	tmpl := chattertest.NewMessage("bench", -100123, 1, "")
	ctx := context.Background()
	var id int64
	b.ReportAllocs()
	for b.Loop() {
		id++
		m := *tmpl
		m.Key.MessageID = id
		if _, err := p.Accept(ctx, &m); err != nil {
			b.Fatal(err)
		}
	}
}
