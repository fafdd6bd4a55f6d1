//go:build !unix

package sqlitestore

import (
	"errors"
	"os"
)

// errNoFences: the platform has no file locks.
var errNoFences = errors.New("sqlitestore: instance fences need file locks (flock), which this platform lacks")

func tryLockFile(string) (*os.File, bool, error) { return nil, false, errNoFences }

func unlockFile(f *os.File) { _ = f.Close() }
