package chatter

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
)

// An instance is one process's identity on a store that outlives the
// process: the same value across its restarts (kept in its data directory
// or its configuration), distinct among the processes running at once.
// With QueueConfig.Instance (PipelineConfig.Instance) set, the store
// fences the instance (at most one live process holds it: the
// database's session lock for PostgreSQL, a file lock for SQLite, both
// released by the operating system when the process dies, however it
// dies), and so it can tell a dead process's work from a live one's:
//
//   - a restarted process takes its previous incarnation's running jobs
//     back at once (they run again as new attempts, with no wait for
//     River's rescuer) and frees the leases held under its name
//     (holders made by InstanceHolder);
//   - every Work also watches the other instances whose jobs are running:
//     when one has died (its fence is free) its jobs are made runnable
//     and its leases freed within seconds, not after River's RescueAfter
//     or the leases' TTL.
//
// A process that keeps running keeps its fence, so its work is never
// touched. A second process started with the same instance while the
// first runs waits for the fence (and says so in the log).

// MaxInstanceLen is the longest instance id.
const MaxInstanceLen = 64

// ValidateInstance checks an instance id: 1 to MaxInstanceLen bytes of
// ASCII letters, digits, '.', '_' and '-'.
func ValidateInstance(id string) error {
	if id == "" || len(id) > MaxInstanceLen {
		return invalid("instance", fmt.Sprintf("идентификатор экземпляра должен быть от 1 до %d символов", MaxInstanceLen),
			fmt.Sprintf("the instance id must be 1 to %d bytes", MaxInstanceLen))
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return invalid("instance", fmt.Sprintf("идентификатор экземпляра %q: допустимы латинские буквы, цифры, '.', '_' и '-'", id),
				fmt.Sprintf("instance id %q: only ASCII letters, digits, '.', '_' and '-' are allowed", id))
		}
	}
	return nil
}

// InstanceHolder returns a lease holder name for a process of instance:
// instance + "/" + a random suffix, new with every call (so every process,
// and every start, holds its leases under its own name). The stores free
// the leases of holders named so when the instance's process has died
// (see the comment on instances above).
func InstanceHolder(instance string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return instance + InstanceSeparator + hex.EncodeToString(b[:])
}

// InstanceSeparator separates the instance from the per-process part in
// lease holders (InstanceHolder) and River client ids.
const InstanceSeparator = "/"

// InstanceOf returns the instance a holder or River client id made by
// InstanceHolder belongs to, or "" for any other name.
func InstanceOf(holder string) string {
	for i := 0; i < len(holder); i++ {
		if holder[i] == InstanceSeparator[0] {
			if ValidateInstance(holder[:i]) != nil {
				return ""
			}
			return holder[:i]
		}
	}
	return ""
}
