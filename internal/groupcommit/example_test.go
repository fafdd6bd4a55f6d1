package groupcommit_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/chatterhq/sdk/internal/groupcommit"
)

func Example() {
	c, err := groupcommit.New(func(_ context.Context, words []string) ([]string, []error, error) {
		out := make([]string, len(words)) // one "transaction" for the batch
		for i, w := range words {
			out[i] = strings.ToUpper(w)
		}
		return out, nil, nil
	}, groupcommit.Config{MaxBatch: 64})
	if err != nil {
		fmt.Println(err)
		return
	}
	got, err := c.Submit(context.Background(), "привет")
	fmt.Println(got, err)
	// Output: ПРИВЕТ <nil>
}
