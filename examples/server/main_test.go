package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// cli runs the command line with args in dir and returns stdout, stderr
// and the error.
func cli(t *testing.T, env map[string]string, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	getenv := func(k string) string { return env[k] }
	err := run(context.Background(), args, getenv, strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), err
}

func writeConfig(t *testing.T, dir, body string) string {
	t.Helper()
	p := filepath.Join(dir, "chatter.yaml")
	require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
	return p
}

func TestVersionAndHelp(t *testing.T) {
	out, _, err := cli(t, nil, "", "version")
	require.NoError(t, err)
	require.Contains(t, out, "chatter "+version)
	out, _, err = cli(t, nil, "", "help")
	require.NoError(t, err)
	for _, cmd := range []string{"serve", "doctor", "migrate", "user", "bundle", "config check", "account login", "version"} {
		require.Contains(t, out, cmd)
	}
	_, errOut, err := cli(t, nil, "", "nonsense")
	require.ErrorIs(t, err, errUsage)
	require.Contains(t, errOut, "неизвестная команда")
}

func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	good := writeConfig(t, dir, "data_dir: "+dir+"\nhttp:\n  addr: 127.0.0.1:0\n")
	out, _, err := cli(t, nil, "", "config", "check", "-config", good, "-lang", "en")
	require.NoError(t, err, out)
	bad := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("http:\n  addr: nowhere\n  bogus: 1\ndelivery:\n  workers: -3\n"), 0o600))
	out, _, err = cli(t, nil, "", "config", "check", "-config", bad, "-lang", "en")
	var code exitCode
	require.True(t, errors.As(err, &code), "%v", err)
	require.Equal(t, exitCode(1), code)
	for _, path := range []string{"http.addr", "http.bogus", "delivery.workers"} {
		require.Contains(t, out, path, "every problem with its path")
	}
	require.Contains(t, out, "line 2")
	out, _, _ = cli(t, nil, "", "config", "check", "-config", bad, "-lang", "ru")
	require.Contains(t, out, "ошибка")
	// The example file committed with the server is valid.
	out, _, err = cli(t, nil, "", "config", "check", "-config", "chatter.example.yaml")
	require.NoError(t, err, out)
}

func TestUsersMigrateDoctorBundle(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "data_dir: "+filepath.Join(dir, "data")+"\n")

	out, _, err := cli(t, nil, "", "migrate", "-config", cfg)
	require.NoError(t, err)
	require.Contains(t, out, "миграции применены")

	_, _, err = cli(t, nil, "correct horse battery\n", "user", "add", "-config", cfg, "-login", "olga", "-email", "olga@example.com", "-role", "admin")
	require.NoError(t, err)
	out, _, err = cli(t, nil, "", "user", "add", "-config", cfg, "-login", "pavel", "-email", "pavel@example.com", "-role", "manager")
	require.NoError(t, err)
	require.Contains(t, out, "одноразовый пароль", "an empty stdin gives a one-time password")
	_, _, err = cli(t, nil, "short\n", "user", "add", "-config", cfg, "-login", "ivan", "-email", "ivan@example.com")
	require.Error(t, err, "the password policy")
	require.Contains(t, err.Error(), "password")

	_, _, err = cli(t, nil, "", "user", "lock", "-config", cfg, "-login", "pavel")
	require.NoError(t, err)
	out, _, err = cli(t, nil, "", "user", "list", "-config", cfg)
	require.NoError(t, err)
	require.Contains(t, out, "olga")
	require.Regexp(t, `pavel\s+pavel@example.com\s+manager\s+blocked`, out)
	_, _, err = cli(t, nil, "", "user", "unlock", "-config", cfg, "-login", "pavel")
	require.NoError(t, err)
	_, _, err = cli(t, nil, "another good password\n", "user", "passwd", "-config", cfg, "-login", "olga")
	require.NoError(t, err)
	_, _, err = cli(t, nil, "", "user", "passwd", "-config", cfg, "-login", "nobody")
	require.Error(t, err)

	// No workspace: the doctor has little to say, and says it in JSON.
	out, _, err = cli(t, nil, "", "doctor", "-config", cfg, "-json")
	var code exitCode
	if err != nil {
		require.True(t, errors.As(err, &code), "%v", err)
	}
	var rep struct {
		Status string `json:"status"`
		Groups []struct {
			Problem struct{ ID string } `json:"problem"`
		} `json:"groups"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &rep), out)
	require.Len(t, rep.Groups, 11)

	bundle := filepath.Join(dir, "b.zip")
	out, _, err = cli(t, nil, "", "bundle", "-config", cfg, "-o", bundle)
	require.NoError(t, err)
	require.Contains(t, out, bundle)
	zr, err := zip.OpenReader(bundle)
	require.NoError(t, err)
	defer zr.Close()
	require.NotEmpty(t, zr.File)
	_, _, err = cli(t, nil, "", "bundle", "-config", cfg, "-o", bundle)
	require.Error(t, err, "an existing file is not overwritten")
}

func TestServeRefusesABadConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "data_dir: "+dir+"\nhttp:\n  addr: nowhere\nworkspaces:\n  - id: Bad\n")
	_, errOut, err := cli(t, nil, "", "serve", "-config", cfg)
	require.Error(t, err)
	require.Contains(t, errOut, "http.addr")
	require.Contains(t, errOut, "workspaces[0].id")
	require.Contains(t, errOut, "error:")
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestDemoCommand runs `server` with no arguments (the demo) twice on one
// data directory: the first start prints the admin URL, login and
// one-time password; both serve and stop cleanly on cancel.
func TestDemoCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the demo")
	}
	dir := t.TempDir()
	start := func() (string, string) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var out, errOut syncBuffer
		done := make(chan error, 1)
		go func() {
			done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-data", filepath.Join(dir, "data"), "-demo-rate", "20"},
				func(string) string { return "" }, strings.NewReader(""), &out, &errOut)
		}()
		var url string
		for deadline := time.Now().Add(time.Minute); url == "" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			for _, line := range strings.Split(out.String(), "\n") {
				if i := strings.Index(line, "http://127.0.0.1:"); i >= 0 {
					url = strings.TrimSpace(line[i:])
				}
			}
			select {
			case err := <-done:
				t.Fatalf("the demo stopped: %v\n%s", err, errOut.String())
			default:
			}
		}
		require.NotEmpty(t, url, "no admin URL printed:\n%s\n%s", out.String(), errOut.String())
		resp, err := http.Get(url + "healthz")
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		time.Sleep(2 * time.Second) // some traffic
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err, errOut.String())
		case <-time.After(time.Minute):
			t.Fatal("the demo did not stop within a minute of Ctrl-C")
		}
		return out.String(), errOut.String()
	}
	out, _ := start()
	require.Contains(t, out, "Логин (login):        admin")
	require.Contains(t, out, "одноразовый")
	require.Contains(t, out, filepath.Join(dir, "data"))
	out, _ = start()
	require.NotContains(t, out, "одноразовый", "the admin of the first start is kept")
}
