// Package config is the configuration of the reference server: one YAML
// file (every key is documented in examples/server/chatter.example.yaml),
// environment variables that override any key, command-line flags, and a
// validation that reports every problem at once, each with its key path,
// its line and a Russian and English message.
//
// # Quick start
//
//	cfg, problems := config.Loader{Getenv: os.Getenv, Environ: os.Environ(), Flags: flags}.Load(path)
//	for _, p := range problems.Warnings() { log.Warn(p.Text("en")) }
//	if err := problems.Err(); err != nil { return err } // the server refuses to start
//	key, created, err := config.EnsureSealingKey(cfg, nil)
//
// `chatter config check -config FILE` is config.Check: it prints each
// problem with its path and exits non-zero when there are errors.
//
// # Precedence
//
// Flags > environment > file > defaults. Load starts from Default(), lays
// the file over it key by key (a list in the file replaces the default
// list), then the variables, then the flags (-addr is http.addr, -data is
// data_dir), and finally fills the defaults of list items (a bot's mode,
// a workspace's name, ...). The file is optional: without one the
// configuration is the defaults and the environment.
//
// # The file seeds a fresh store; the UI wins afterwards
//
// The settings of workspaces (amoCRM, mapping, keywords, bots, parser
// accounts, notifications) seed a fresh store: on the first start the
// server copies each workspace of the file into its store. A workspace
// changed later through the admin UI is kept in the store and wins over the
// file from then on; a workspace still as the file seeded it follows the
// file when the file changes; a workspace created in the UI exists only in
// the store. The process keys (data_dir, log, store, http, delivery, notify) always
// come from the file, the environment and the flags. The app (package
// internal/app) implements the rule; this package makes it possible: a
// Workspace round-trips through encoding/json (Load has read the mapping
// and keyword files into it, so the JSON is self-contained and its hash
// changes when the file does), and SetDefaults and Validate work on what
// comes back. The JSON holds secrets: it must be sealed before it is
// stored (chatter.Sealer); Secrets lists them.
//
// # Environment variables
//
// Every key has a variable: CHATTER_ and the key path in upper case, its
// parts joined by '_': http.addr is CHATTER_HTTP_ADDR, store.postgres.url
// is CHATTER_STORE_POSTGRES_URL, data_dir is CHATTER_DATA_DIR.
//
// List items are defined in the file; a variable names an existing item by
// its id when the items have one (workspaces, bots, parser accounts), else
// by its position from 0 (chats, email, telegram, webhooks):
//
//	CHATTER_WORKSPACES_SHOP_AMOCRM_LONG_LIVED_TOKEN           workspaces[id=shop].amocrm.long_lived_token
//	CHATTER_WORKSPACES_SHOP_BOTS_SUPPORT_TOKEN                workspaces[id=shop].bots[id=support].token
//	CHATTER_WORKSPACES_SHOP_PARSER_ACCOUNTS_SALES_1_API_HASH  …parser.accounts[id=sales-1].api_hash
//	CHATTER_WORKSPACES_SHOP_NOTIFICATIONS_WEBHOOKS_0_SECRET   …notifications.webhooks[0].secret
//
// An id becomes its variable form in upper case with every character other
// than A-Z and 0-9 replaced by '_' (sales-1 → SALES_1). The rule is made
// unambiguous by validation: two keys whose variables would have the same
// name (ids "a-b" and "a_b" in one list, say) are a problem. A CHATTER_
// variable that names no key, for example one naming a list item that does
// not exist, is a problem too (when Loader.Environ is given); CHATTER_CONFIG
// (the config file) and CHATTER_TEST_* are not keys and are ignored. An
// empty variable counts as unset.
//
// Values: text as is; numbers; true/false (also yes/no, on/off, 1/0);
// durations as 30s, 5m, 2h, 7d or 1d12h; lists comma-separated
// (CHATTER_HTTP_TRUSTED_PROXIES=10.0.0.0/8,192.168.0.0/16), except keyword
// rules, one per line; mapping.inline takes a whole YAML or JSON spec.
//
// # Secrets from files
//
// Every secret key (tokens, passwords, api_hash, webhook secrets, ...)
// accepts a <key>_file sibling in the file (token_file: /run/secrets/bot)
// and a <VAR>_FILE variable (CHATTER_WORKSPACES_SHOP_BOTS_SUPPORT_TOKEN_FILE):
// the value is the file's content without its trailing newline. Setting
// both forms at the same level (token and token_file; VAR and VAR_FILE) is
// a problem; across levels the usual precedence applies. The sealing key is
// the exception: store.sealing_key_file is a key of its own (below).
//
// # Paths
//
// Paths written in the file (mapping.file, keywords.file, <key>_file,
// parser.server.public_key_file) are relative to the file's directory;
// paths from variables are used as given. data_dir is relative to the
// working directory; store.sqlite.path and store.sealing_key_file are
// relative to data_dir.
//
// # The sealing key
//
// OAuth tokens and Telegram sessions are sealed at rest with a 32-byte key:
// store.sealing_key (64 hex digits or base64), or the file
// store.sealing_key_file (default data_dir/sealing.key). When neither holds
// a key, Validate warns, and EnsureSealingKey generates the file on first
// start; back it up. With PostgreSQL and several instances, give every
// instance the same key.
//
// # Validation
//
// Validate (Load calls it) checks required keys, exclusive pairs (subdomain
// or base_url, or both; long_lived_token or oauth; mapping.inline or mapping.file),
// shapes (URLs, durations, networks, bot tokens, amoCRM tokens, api_id and
// api_hash, E.164 phones, proxy URLs and chat links as tgparse reads them,
// email addresses), unique ids, known notification events and update kinds,
// that the mapping compiles with fieldmap (offline: fields and pipelines by
// name are resolved against the live account when the server starts), that
// keyword rules parse, and what webhooks need (a public URL, https).
// Unknown keys, repeated keys and values of the wrong type are found while
// the file is read. A Problem has the key path
// ("workspaces[0].bots[1].token"), the line (and File for a mapping,
// keywords or secret file), the variable or flag the value came from, a
// Russian and English message, and a severity: warnings do not stop the
// server.
package config
