package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/examples/server/internal/config"
)

// Settings keys.
const (
	settingWorkspace  = "server/workspace"  // per workspace: its configuration (sealed)
	settingWorkspaces = "server/workspaces" // in ServerWorkspace: the ids
	settingSecret     = "server/secret/"    // per workspace: generated secrets (sealed)
)

// Where a stored workspace configuration came from.
const (
	OriginFile = "file" // seeded from the configuration file; follows it
	OriginUI   = "ui"   // changed through the admin UI; wins over the file
)

// storedWorkspace is the stored form of a workspace's configuration. The
// configuration holds secrets (tokens, passwords), so it is sealed.
type storedWorkspace struct {
	Origin    string `json:"origin"`
	FileHash  string `json:"file_hash,omitempty"` // of the file's version it was seeded from
	Sealed    []byte `json:"sealed"`
	UpdatedBy string `json:"updated_by,omitempty"`
}

func workspaceAD(id string) []byte { return []byte("chatter/server/workspace/" + id) }

func hashWorkspace(w *config.Workspace) (string, error) {
	b, err := json.Marshal(w)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// effectiveWorkspaces decides each workspace's configuration. The file
// seeds a fresh store; a workspace changed through the admin UI is kept in
// the store and wins over the file from then on; a workspace still as the
// file seeded it follows the file when the file changes; a workspace created
// through the UI exists only in the store. It records the decisions in the
// store and returns the workspaces in order: the file's, then the
// store's own.
func (a *App) effectiveWorkspaces(ctx context.Context) ([]config.Workspace, error) {
	var ids []string
	if s, err := a.store.GetSetting(ctx, ServerWorkspace, settingWorkspaces); err == nil {
		if err := json.Unmarshal(s.Value, &ids); err != nil {
			return nil, fmt.Errorf("app: stored workspace list: %w", err)
		}
	} else if !errors.Is(err, chatter.ErrNotFound) {
		return nil, fmt.Errorf("app: stored workspace list: %w", err)
	}
	var out []config.Workspace
	seen := map[string]bool{}
	for i := range a.cfg.Workspaces {
		fw := a.cfg.Workspaces[i]
		w, err := a.reconcileWorkspace(ctx, &fw)
		if err != nil {
			return nil, err
		}
		out = append(out, *w)
		seen[w.ID] = true
	}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		w, _, err := a.loadWorkspace(ctx, id)
		if errors.Is(err, chatter.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		w.SetDefaults()
		out = append(out, *w)
		seen[id] = true
	}
	all := make([]string, 0, len(out))
	for _, w := range out {
		all = append(all, w.ID)
	}
	if !slices.Equal(all, ids) {
		if err := a.putJSON(ctx, ServerWorkspace, settingWorkspaces, all); err != nil {
			return nil, fmt.Errorf("app: store the workspace list: %w", err)
		}
	}
	a.cfg.Workspaces = out
	return out, nil
}

func (a *App) reconcileWorkspace(ctx context.Context, fw *config.Workspace) (*config.Workspace, error) {
	hash, err := hashWorkspace(fw)
	if err != nil {
		return nil, err
	}
	stored, rec, err := a.loadWorkspace(ctx, fw.ID)
	switch {
	case errors.Is(err, chatter.ErrNotFound):
		return fw, a.saveWorkspace(ctx, fw, OriginFile, hash, "", 0)
	case err != nil:
		return nil, err
	case rec.Origin == OriginUI:
		if rec.FileHash != hash {
			a.log.LogAttrs(ctx, slog.LevelWarn, "the configuration file's workspace differs from the one changed in the admin UI; the UI's is used",
				slog.String(chatter.AttrCategory, chatter.CategorySystem), slog.String(chatter.AttrWorkspace, fw.ID))
		}
		stored.SetDefaults()
		return stored, nil
	case rec.FileHash != hash:
		return fw, a.saveWorkspace(ctx, fw, OriginFile, hash, "", rec.version)
	}
	return fw, nil
}

type workspaceRecord struct {
	storedWorkspace
	version int64
}

func (a *App) loadWorkspace(ctx context.Context, id string) (*config.Workspace, *workspaceRecord, error) {
	s, err := a.store.GetSetting(ctx, id, settingWorkspace)
	if err != nil {
		return nil, nil, err
	}
	rec := &workspaceRecord{version: s.Version}
	if err := json.Unmarshal(s.Value, &rec.storedWorkspace); err != nil {
		return nil, nil, fmt.Errorf("app: stored workspace %s: %w", id, err)
	}
	plain, err := a.sealer.Open(rec.Sealed, workspaceAD(id))
	if err != nil {
		return nil, nil, fmt.Errorf("app: stored workspace %s: %w (is the sealing key the one it was stored with?)", id, err)
	}
	var w config.Workspace
	if err := json.Unmarshal(plain, &w); err != nil {
		return nil, nil, fmt.Errorf("app: stored workspace %s: %w", id, err)
	}
	return &w, rec, nil
}

func (a *App) saveWorkspace(ctx context.Context, w *config.Workspace, origin, fileHash, by string, version int64) error {
	plain, err := json.Marshal(w)
	if err != nil {
		return err
	}
	sealed, err := a.sealer.Seal(plain, workspaceAD(w.ID))
	if err != nil {
		return err
	}
	v, err := json.Marshal(storedWorkspace{Origin: origin, FileHash: fileHash, Sealed: sealed, UpdatedBy: by})
	if err != nil {
		return err
	}
	if _, err := a.store.PutSetting(ctx, w.ID, settingWorkspace, v, version); err != nil {
		return fmt.Errorf("app: store workspace %s: %w", w.ID, err)
	}
	return nil
}

func (a *App) putJSON(ctx context.Context, ws, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	for range 5 {
		var version int64
		if s, err := a.store.GetSetting(ctx, ws, key); err == nil {
			version = s.Version
		} else if !errors.Is(err, chatter.ErrNotFound) {
			return err
		}
		_, err := a.store.PutSetting(ctx, ws, key, b, version)
		if !errors.Is(err, chatter.ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("app: setting %s: %w", key, chatter.ErrConflict)
}

// secretSetting returns the workspace's generated secret name, creating
// (and sealing) it on first use. Every instance reads the same one.
func (a *App) secretSetting(ctx context.Context, ws, name string) (string, error) {
	key := settingSecret + name
	ad := []byte("chatter/server/secret/" + ws + "/" + name)
	for range 3 {
		s, err := a.store.GetSetting(ctx, ws, key)
		if err == nil {
			var sealed []byte
			if err := json.Unmarshal(s.Value, &sealed); err != nil {
				return "", fmt.Errorf("secret %s: %w", name, err)
			}
			plain, err := a.sealer.Open(sealed, ad)
			if err != nil {
				return "", fmt.Errorf("secret %s: %w", name, err)
			}
			return string(plain), nil
		}
		if !errors.Is(err, chatter.ErrNotFound) {
			return "", fmt.Errorf("secret %s: %w", name, err)
		}
		secret := randomHex(16)
		sealed, err := a.sealer.Seal([]byte(secret), ad)
		if err != nil {
			return "", err
		}
		v, _ := json.Marshal(sealed)
		if _, err := a.store.PutSetting(ctx, ws, key, v, 0); err == nil {
			return secret, nil
		} else if !errors.Is(err, chatter.ErrConflict) {
			return "", fmt.Errorf("secret %s: %w", name, err)
		}
		// Another instance created it first: read theirs.
	}
	return "", fmt.Errorf("secret %s: %w", name, chatter.ErrConflict)
}

// UpdateWorkspace applies a workspace's new settings (or adds a workspace)
// as an administrator changed them in the admin UI: it validates them with
// the rest of the configuration (the problems come back as
// config.Problems, with paths), builds the workspace anew, stores the
// settings (sealed, origin UI: from now on they win over the file), stops
// the old workspace's bots, parser and set-up, and starts the new ones.
// Deliveries in flight finish with the old settings. by names who changed
// them, for the event log.
func (a *App) UpdateWorkspace(ctx context.Context, wc config.Workspace, by string) error {
	a.wsMu.Lock()
	defer a.wsMu.Unlock()
	wc.SetDefaults()
	c := a.Config()
	replaced := false
	for i := range c.Workspaces {
		if c.Workspaces[i].ID == wc.ID {
			c.Workspaces[i], replaced = wc, true
		}
	}
	if !replaced {
		c.Workspaces = append(c.Workspaces, wc)
	}
	if probs := c.Validate(); probs.HasErrors() {
		return probs.Errors()
	}
	var version int64
	fileHash := ""
	if _, rec, err := a.loadWorkspace(ctx, wc.ID); err == nil {
		version, fileHash = rec.version, rec.FileHash
	} else if !errors.Is(err, chatter.ErrNotFound) {
		return err
	}
	w, err := a.newWorkspace(ctx, wc)
	if err != nil {
		return err
	}
	if err := a.saveWorkspace(ctx, &wc, OriginUI, fileHash, by, version); err != nil {
		return err
	}
	old := a.wss.Load()
	next := &wsSet{byID: make(map[string]*workspace, len(old.byID)+1)}
	for _, o := range old.list {
		if o.id == wc.ID {
			o = w // in the configuration's order
		}
		next.list = append(next.list, o)
		next.byID[o.id] = o
	}
	if !replaced {
		next.list = append(next.list, w)
	}
	next.byID[w.id] = w
	if prev := old.byID[wc.ID]; prev != nil {
		prev.halt()
		a.sup.forget("amocrm:" + wc.ID)
		a.sup.forget("bot:" + wc.ID + "/")
		a.sup.forget("parser:" + wc.ID)
	}
	a.wss.Store(next)
	if !replaced {
		if err := a.putJSON(ctx, ServerWorkspace, settingWorkspaces, a.workspaceIDs()); err != nil {
			return err
		}
	}
	if a.workCtx != nil {
		a.startWorkspace(w)
	}
	a.log.LogAttrs(ctx, slog.LevelInfo, "workspace settings changed",
		slog.String(chatter.AttrCategory, chatter.CategorySystem), slog.String(chatter.AttrWorkspace, wc.ID),
		slog.String("by", by), slog.Bool("new", !replaced))
	return nil
}

// WorkspaceConfig returns a running workspace's settings (with secrets:
// show them to administrators only, masked), or false.
func (a *App) WorkspaceConfig(id string) (config.Workspace, bool) {
	w := a.ws(id)
	if w == nil {
		return config.Workspace{}, false
	}
	return w.cfg, true
}
