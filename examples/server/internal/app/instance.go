package app

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/chatterhq/sdk/chatter"
	"github.com/chatterhq/sdk/examples/server/internal/config"
)

// InstanceFile is where the data directory keeps the instance's id when
// the configuration names none.
const InstanceFile = "instance"

// resolveInstance returns the process's stable instance id: the
// configuration's, or the one kept in the data directory (made at the
// first start). The same id after a restart lets the restart take back at
// once what the crashed process left running (chatter.QueueConfig.Instance).
func resolveInstance(cfg *config.Config) (string, error) {
	if cfg.Instance != "" {
		return cfg.Instance, nil
	}
	path := filepath.Join(cfg.DataDir, InstanceFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		id := strings.TrimSpace(string(b))
		if chatter.ValidateInstance(id) != nil {
			return "", fmt.Errorf("app: %s: %q is not an instance id: fix the file or delete it (a new id is made), or set instance in the configuration", path, id)
		}
		return id, nil
	case !errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("app: instance id: %w", err)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return "", fmt.Errorf("app: data directory: %w", err)
	}
	id := "chatter-" + randomHex(6)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return resolveInstance(cfg) // made meanwhile by another start
	}
	if err == nil {
		_, err = f.WriteString(id + "\n")
		err = errors.Join(err, f.Sync(), f.Close())
	}
	if err != nil {
		return "", fmt.Errorf("app: keep the instance id (or set instance in the configuration): %w", err)
	}
	return id, nil
}
