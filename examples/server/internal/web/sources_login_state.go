package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/tgparse"
)

// A parser account's login runs over several requests (send the code,
// enter it, enter the cloud password), possibly on different instances.
// What Telegram returned between the steps (tgparse.CodeState: the phone
// and the phone_code_hash) is kept server-side: in the workspace's
// settings, sealed with the app's sealer, under the signed-in user's
// session and the account. It never reaches the page.

// srcLoginTTL is how long a started login waits for its next step.
const srcLoginTTL = 30 * time.Minute

// srcLoginKeyPrefix starts the settings keys of srcLogins in progress.
const srcLoginKeyPrefix = "web/parser-login/"

// Login steps.
const (
	srcLoginStepCode     = "code"     // a code was sent: enter it
	srcLoginStepPassword = "password" // the code was right: the cloud password
)

// srcLoginRecord is what one login in progress keeps.
type srcLoginRecord struct {
	// SessionCreated ties the record to the session it was started in: a
	// later session in the same slot does not see it.
	SessionCreated time.Time          `json:"session_created"`
	Step           string             `json:"step"`
	State          *tgparse.CodeState `json:"state"`
	Expires        time.Time          `json:"expires"`
}

// srcLoginStore keeps the srcLogins in progress of one workspace.
type srcLoginStore struct {
	s  *server
	ws string
}

func (s *server) srcLogins(ws string) srcLoginStore { return srcLoginStore{s: s, ws: ws} }

func (l srcLoginStore) key(sessionID, account string) string {
	return srcLoginKeyPrefix + sessionID + "/" + account
}

func (l srcLoginStore) ad(key string) []byte {
	return []byte("chatter/web/parser-login/" + l.ws + "/" + key)
}

// srcSealedLogin is the stored form; Sealed is nil once the login ended.
type srcSealedLogin struct {
	Sealed  []byte    `json:"sealed,omitempty"`
	Expires time.Time `json:"expires,omitzero"`
}

// get returns the login in progress of r's session for account, or nil.
func (l srcLoginStore) get(r *http.Request, account string) (*srcLoginRecord, error) {
	st := state(r)
	if st == nil || st.session == nil {
		return nil, nil
	}
	key := l.key(st.session.ID, account)
	set, err := l.s.app.Store().GetSetting(r.Context(), l.ws, key)
	if errors.Is(err, chatter.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var sl srcSealedLogin
	if err := json.Unmarshal(set.Value, &sl); err != nil || sl.Sealed == nil {
		return nil, nil
	}
	plain, err := l.s.app.Sealer().Open(sl.Sealed, l.ad(key))
	if err != nil {
		return nil, fmt.Errorf("web: parser login of %s: %w", account, err)
	}
	var rec srcLoginRecord
	if err := json.Unmarshal(plain, &rec); err != nil {
		return nil, fmt.Errorf("web: parser login of %s: %w", account, err)
	}
	if !rec.SessionCreated.Equal(st.session.CreatedAt) || !l.s.now().Before(rec.Expires) || rec.State == nil {
		return nil, nil
	}
	return &rec, nil
}

// put keeps rec as r's session's login of account, and ends the expired
// srcLogins of the workspace.
func (l srcLoginStore) put(r *http.Request, account string, rec *srcLoginRecord) error {
	st := state(r)
	if st == nil || st.session == nil {
		return errors.New("web: parser login without a session")
	}
	rec.SessionCreated = st.session.CreatedAt
	rec.Expires = l.s.now().Add(srcLoginTTL)
	key := l.key(st.session.ID, account)
	plain, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	sealed, err := l.s.app.Sealer().Seal(plain, l.ad(key))
	if err != nil {
		return err
	}
	if err := l.write(r.Context(), key, srcSealedLogin{Sealed: sealed, Expires: rec.Expires}); err != nil {
		return err
	}
	l.prune(r.Context(), key)
	return nil
}

// end forgets r's session's login of account.
func (l srcLoginStore) end(r *http.Request, account string) error {
	st := state(r)
	if st == nil || st.session == nil {
		return nil
	}
	return l.write(r.Context(), l.key(st.session.ID, account), srcSealedLogin{})
}

// write stores v under key (compare-and-swap, retried on a conflict).
func (l srcLoginStore) write(ctx context.Context, key string, v srcSealedLogin) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	settings := l.s.app.Store()
	for range 5 {
		var version int64
		if cur, err := settings.GetSetting(ctx, l.ws, key); err == nil {
			version = cur.Version
		} else if !errors.Is(err, chatter.ErrNotFound) {
			return err
		}
		if _, err := settings.PutSetting(ctx, l.ws, key, b, version); !errors.Is(err, chatter.ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("web: parser login: %w", chatter.ErrConflict)
}

// prune clears the sealed state of expired srcLogins (other than keep), so
// abandoned srcLogins do not keep a phone_code_hash around.
func (l srcLoginStore) prune(ctx context.Context, keep string) {
	list, err := l.s.app.Store().ListSettings(ctx, l.ws, srcLoginKeyPrefix)
	if err != nil {
		return
	}
	now := l.s.now()
	for _, set := range list {
		if set.Key == keep || !strings.HasPrefix(set.Key, srcLoginKeyPrefix) {
			continue
		}
		var sl srcSealedLogin
		if json.Unmarshal(set.Value, &sl) != nil || sl.Sealed == nil || now.Before(sl.Expires) {
			continue
		}
		b, _ := json.Marshal(srcSealedLogin{})
		// A conflict means someone wrote it meanwhile: leave it.
		_, _ = l.s.app.Store().PutSetting(ctx, l.ws, set.Key, b, set.Version)
	}
}
