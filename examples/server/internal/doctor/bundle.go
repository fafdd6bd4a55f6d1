package doctor

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/chatterhq/sdk/chatter"
)

// MaxBundleEvents is how many events (warning and above) a bundle keeps.
const MaxBundleEvents = 1000

// Redacted replaces a secret in a bundle.
const Redacted = "[REDACTED]"

// Build describes the running program.
type Build struct {
	Version   string    `json:"version"`
	Commit    string    `json:"commit,omitempty"`
	GoVersion string    `json:"go_version"`
	OS        string    `json:"os"`
	Arch      string    `json:"arch"`
	StartedAt time.Time `json:"started_at,omitzero"`
	Instance  string    `json:"instance,omitempty"`
	Modules   []string  `json:"modules,omitempty"` // path@version of the dependencies
}

// CurrentBuild reads the build information of the running binary.
func CurrentBuild(version string) Build {
	b := Build{Version: version, GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				b.Commit = s.Value
			}
		}
		for _, d := range bi.Deps {
			b.Modules = append(b.Modules, d.Path+"@"+d.Version)
		}
		if b.Version == "" {
			b.Version = bi.Main.Version
		}
	}
	return b
}

// Bundle is the content of a support bundle.
type Bundle struct {
	Build  Build
	Config any // the effective configuration, already redacted
	Report *Report
	// Events are the most recent events at warning or above, newest first;
	// the bundle keeps MaxBundleEvents of them.
	Events []chatter.Event
	// Ledger holds the ledger's counts by state per workspace.
	Ledger map[string]map[chatter.State]int
	// Extra files (name → content), e.g. queue statistics.
	Extra map[string]any
	// Secrets are every configured secret value: each is replaced by
	// Redacted wherever it would appear in the bundle, as a last line of
	// defence behind the redacted Config.
	Secrets []string
}

// Write writes the bundle as a zip archive: build.json, config.json,
// checks.json, checks.txt (ru and en), events.jsonl, ledger.json and the
// extra files.
func (b *Bundle) Write(w io.Writer) error {
	scrub := scrubber(b.Secrets)
	zw := zip.NewWriter(w)
	add := func(name string, data []byte) error {
		f, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: b.Build.StartedAt})
		if err != nil {
			return err
		}
		_, err = io.WriteString(f, scrub.Replace(string(data)))
		return err
	}
	addJSON := func(name string, v any) error {
		data, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return fmt.Errorf("doctor: bundle %s: %w", name, err)
		}
		return add(name, append(data, '\n'))
	}
	if err := addJSON("build.json", b.Build); err != nil {
		return err
	}
	if err := addJSON("config.json", b.Config); err != nil {
		return err
	}
	if b.Report != nil {
		if err := addJSON("checks.json", b.Report); err != nil {
			return err
		}
		var txt bytes.Buffer
		_ = b.Report.WriteText(&txt, "ru", true)
		txt.WriteString("\n\n")
		_ = b.Report.WriteText(&txt, "en", true)
		if err := add("checks.txt", txt.Bytes()); err != nil {
			return err
		}
	}
	events := b.Events
	if len(events) > MaxBundleEvents {
		events = events[:MaxBundleEvents]
	}
	var ev bytes.Buffer
	enc := json.NewEncoder(&ev)
	for _, e := range events {
		if err := enc.Encode(e); err != nil {
			return fmt.Errorf("doctor: bundle events: %w", err)
		}
	}
	if err := add("events.jsonl", ev.Bytes()); err != nil {
		return err
	}
	if err := addJSON("ledger.json", b.Ledger); err != nil {
		return err
	}
	names := make([]string, 0, len(b.Extra))
	for n := range b.Extra {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if err := addJSON(n, b.Extra[n]); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("doctor: bundle: %w", err)
	}
	return nil
}

// scrubber replaces every secret (and its JSON-escaped form) with Redacted,
// longest first so that a secret containing another is replaced whole.
func scrubber(secrets []string) *strings.Replacer {
	var ss []string
	for _, s := range secrets {
		if len(s) < 4 { // too short to be a secret worth scanning for; it would redact ordinary text
			continue
		}
		ss = append(ss, s)
		if q, err := json.Marshal(s); err == nil {
			if esc := string(q[1 : len(q)-1]); esc != s {
				ss = append(ss, esc)
			}
		}
	}
	slices.SortFunc(ss, func(a, b string) int { return len(b) - len(a) })
	ss = slices.Compact(ss)
	pairs := make([]string, 0, 2*len(ss))
	for _, s := range ss {
		pairs = append(pairs, s, Redacted)
	}
	return strings.NewReplacer(pairs...)
}
