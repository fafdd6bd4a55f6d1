// Package doctor is the reference server's diagnostics: it runs every check
// the SDK packages and the server provide, groups the results under the
// support guide's ten problems (chatter.GuideProblems) plus the server's own
// group, and renders them for the `doctor` command (text or JSON, exit code
// 0/1/2 for ok/warn/fail) and the diagnostics page. It also writes the
// support bundle: a zip with the build, the redacted configuration, the
// check results, recent warnings and the ledger counts, scrubbed of every
// configured secret.
package doctor
