package tgbottest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Run delivers pending updates to the webhooks of bots that have one, until
// ctx ends. Each bot gets one delivery at a time, oldest update first, by
// POST with the X-Telegram-Bot-Api-Secret-Token header. A non-2xx answer or a
// connection error is retried with exponential backoff (see
// WithWebhookRetry) and recorded as last_error_date/last_error_message in
// getWebhookInfo. A 2xx answer whose JSON body names a "method" runs that
// method, as Telegram does. Run returns nil when ctx ends.
func (s *Server) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		s.mu.Lock()
		now := time.Now()
		wait := time.Hour
		for _, b := range s.bots {
			w := b.webhook
			if w == nil || w.inflight || len(b.updates) == 0 {
				continue
			}
			if d := w.nextAttempt.Sub(now); d > 0 {
				wait = min(wait, d)
				continue
			}
			body, err := json.Marshal(b.updates[0])
			if err != nil {
				continue
			}
			w.inflight = true
			wg.Add(1)
			go func(b *Bot, w *webhook, id int64, body []byte) {
				defer wg.Done()
				s.deliver(ctx, b, w, id, body)
			}(b, w, b.updates[0].UpdateID, body)
		}
		s.mu.Unlock()
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return nil
		case <-s.done:
			return nil
		case <-s.kick:
		case <-timer.C:
		}
	}
}

func (s *Server) deliver(ctx context.Context, b *Bot, w *webhook, id int64, body []byte) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	errMsg := ""
	var reply []byte
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err == nil {
		req.Header.Set("Content-Type", "application/json")
		if w.secret != "" {
			req.Header.Set("X-Telegram-Bot-Api-Secret-Token", w.secret)
		}
		var resp *http.Response
		resp, err = s.httpc.Do(req)
		if err == nil {
			reply, _ = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			_ = resp.Body.Close()
			if resp.StatusCode < 200 || resp.StatusCode > 299 {
				errMsg = "Wrong response from the webhook: " + resp.Status
			}
		}
	}
	if err != nil {
		switch {
		case errors.Is(err, syscall.ECONNREFUSED):
			errMsg = "Connection refused"
		case errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "Timeout"):
			errMsg = "Read timeout expired"
		case ctx.Err() != nil:
			errMsg = "" // shutting down: not the receiver's fault
		default:
			errMsg = "Failed to connect"
		}
	}

	s.mu.Lock()
	defer s.kickLoop()
	defer s.mu.Unlock()
	w.inflight = false
	if err != nil && errMsg == "" {
		return
	}
	if errMsg != "" {
		w.attempts++
		w.lastErrorDate = s.now().Unix()
		w.lastErrorMsg = errMsg
		delay := s.retryBase << min(w.attempts-1, 20)
		if delay > s.retryMax || delay <= 0 {
			delay = s.retryMax
		}
		w.nextAttempt = time.Now().Add(delay)
		s.log.Debug("tgbottest: webhook delivery failed", "bot_id", b.user.ID, "update_id", id, "attempt", w.attempts, "error", errMsg)
		if w.attempts < s.retryAttempts {
			return
		}
		// Give up on this update, as Telegram does.
	}
	w.attempts = 0
	w.nextAttempt = time.Time{}
	if len(b.updates) > 0 && b.updates[0].UpdateID == id {
		b.updates = b.updates[1:]
	}
	if errMsg == "" && len(reply) > 0 {
		var call map[string]json.RawMessage
		if json.Unmarshal(reply, &call) == nil {
			var method string
			if json.Unmarshal(call["method"], &method) == nil && method != "" && b.webhook == w {
				delete(call, "method")
				lm := strings.ToLower(method)
				if !strings.HasPrefix(lm, "get") && lm != "setwebhook" && lm != "deletewebhook" && lm != "close" && lm != "logout" {
					s.mu.Unlock()
					_, _ = s.call(ctx, b, method, params(call))
					s.mu.Lock()
				}
			}
		}
	}
}
