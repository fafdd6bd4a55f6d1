package pgstore_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/chatter/pgstore"
)

// Example wires a Store: open the pool, migrate, save a message and deliver
// it through the queue. It needs a PostgreSQL server, so it is compiled but
// not run by go test (no Output comment); the tests run the same calls.
func Example() {
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	cfg.MaxConns = 12 // Workers (4) + 4 for River + producers
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	sealer, err := chatter.NewSealer("k1", map[string][]byte{"k1": make([]byte, 32)}) // use a real secret key
	if err != nil {
		log.Fatal(err)
	}
	store, err := pgstore.New(pool, pgstore.Config{Sealer: sealer, Schema: "chatter"})
	if err != nil {
		log.Fatal(err)
	}
	if err := store.Migrate(ctx); err != nil {
		log.Fatal(err)
	}

	m := &chatter.Message{
		Workspace: "acme",
		Key:       chatter.Key{Source: chatter.SourceBot, Account: "12345", ChatID: 777, MessageID: 1},
		Text:      "Нужен ремонт квартиры",
		Time:      time.Now(),
	}
	res, err := store.SaveMessage(ctx, m, chatter.AcceptOptions{Verdict: chatter.Verdict{Accept: true}, MaxAttempts: 5})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.State)

	wctx, stop := context.WithTimeout(ctx, 5*time.Second)
	defer stop()
	err = store.Work(wctx, chatter.QueueConfig{Workers: 4}, func(ctx context.Context, j *chatter.Job) chatter.Outcome {
		fmt.Println("delivering", j.Message.Key, "attempt", j.Attempt)
		return chatter.Outcome{Kind: chatter.OutcomeDelivered, Result: &chatter.DeliveryResult{LeadID: 1}}
	})
	if err != nil {
		log.Fatal(err)
	}
}
