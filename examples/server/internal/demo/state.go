package demo

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Files the demo keeps in Config.Dir, next to the server's own data.
const (
	// StateFile holds what the Telegram fakes need to continue: the people
	// created so far with their Telegram ids, each private chat's last
	// message id, the bot updates not yet fetched when the demo stopped,
	// and the generator's position.
	StateFile = "demo-state.json"
	// AmoCRMFile is the fake amoCRM account (users, pipelines, fields,
	// leads, contacts, companies, notes), rewritten after every request that
	// may change it and before that request is answered.
	AmoCRMFile = "demo-amocrm.json"
	// HistoryFile is the history of the parsed groups, one post per line,
	// appended before a post is made; a restart posts it again so message
	// ids and the updates' pts continue.
	HistoryFile = "demo-telegram-history.jsonl"
)

// stateVersion is the version of StateFile's format.
const stateVersion = 1

// state is StateFile.
type state struct {
	Version   int            `json:"version"`
	Bot       botState       `json:"bot"`
	Telegram  telegramState  `json:"telegram"`
	Generator generatorState `json:"generator"`
}

// botState is what the Bot API fake needs to continue.
type botState struct {
	// BotID is the bot's user id, the Key.Account of its messages.
	BotID int64 `json:"bot_id"`
	// People are the Telegram ids of the bot's people (index 0 is the
	// existing customer), in creation order.
	People []int64 `json:"people"`
	// LastMessage is the last message id of each person's private chat,
	// by person index (messages of both sides: the bot's replies count).
	LastMessage []int64 `json:"last_message"`
	// LastWritten is the id of each person's latest message of their own
	// (what an edit that follows it changes), by person index.
	LastWritten []int64 `json:"last_written"`
	// Pending are the updates that were still waiting for the bot when
	// the demo stopped, oldest first; a restart produces them again.
	Pending []botUpdate `json:"pending,omitempty"`
}

// botUpdate is one update the demo made the bot fake produce.
type botUpdate struct {
	Person    int    `json:"person"`
	Kind      string `json:"kind"` // "message", "contact" or "edit"
	MessageID int64  `json:"message_id"`
	Text      string `json:"text,omitempty"`
	Repeat    bool   `json:"repeat,omitempty"`
}

// telegramState is what the MTProto fake needs to continue.
type telegramState struct {
	ParserID int64   `json:"parser_id"`
	Groups   []int64 `json:"groups"` // channel ids, in Groups order
	People   []int64 `json:"people"` // Telegram ids of the group people, in creation order
}

// generatorState is where the generator stopped.
type generatorState struct {
	Seed     uint64 `json:"seed"`
	Started  bool   `json:"started"`
	Position int    `json:"position"` // events of the script played
}

// readJSON reads path into v. A missing file reports found=false.
func readJSON(path string, v any) (found bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return true, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return true, nil
}

// writeJSON replaces path with v atomically: a temporary file is written
// and synced, then renamed over path.
func writeJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return writeFileAtomic(path, b, true)
}

// writeFileAtomic writes b to a temporary file, syncs it when sync is set,
// and renames it over path. Without the sync the file survives a crash of
// the process (the kernel has the data) but maybe not of the machine.
func writeFileAtomic(path string, b []byte, sync bool) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	_, err = tmp.Write(b)
	if err == nil && sync {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(name, path)
	}
	if err != nil {
		_ = os.Remove(name)
	}
	return err
}
