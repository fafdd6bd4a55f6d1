package smtpnotify

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSendPlainText(t *testing.T) {
	t.Parallel()
	ms := startMailServer(t, serverOpts{})
	n, err := New(ms.config())
	require.NoError(t, err)
	link := "https://chatter.example.com/reset?token=abc.def"
	require.NoError(t, n.Send(t.Context(), "olga@example.com", "Сброс пароля", "Ссылка для нового пароля: "+link+"\n"))
	got := ms.received()
	require.Len(t, got, 1)
	require.Equal(t, []string{"olga@example.com"}, got[0].to)
	require.Contains(t, string(got[0].data), "=?UTF-8?q?[Chatter]_")
	body := strings.ReplaceAll(strings.ReplaceAll(string(got[0].data), "=\r\n", ""), "=3D", "=")
	require.Contains(t, body, link)
	require.Error(t, n.Send(t.Context(), "not an address", "x", "y"))
}
