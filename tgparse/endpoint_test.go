package tgparse_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chatterhq/sdk/tgparse"
)

func TestNewEndpoint(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	block := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&key.PublicKey)})

	e, err := tgparse.NewEndpoint(2, "127.0.0.1:4430", block)
	require.NoError(t, err)
	require.Equal(t, 2, e.DC)
	require.Len(t, e.DCList.Options, 1)
	require.Equal(t, "127.0.0.1", e.DCList.Options[0].IPAddress)
	require.Equal(t, 4430, e.DCList.Options[0].Port)
	require.Len(t, e.PublicKeys, 1)
	require.Equal(t, 0, key.PublicKey.N.Cmp(e.PublicKeys[0].RSA.N))

	e, err = tgparse.NewEndpoint(1, "[::1]:443", nil)
	require.NoError(t, err)
	require.True(t, e.DCList.Options[0].Ipv6)
	require.Empty(t, e.PublicKeys)

	for _, bad := range []struct {
		dc   int
		addr string
		pem  []byte
	}{
		{0, "127.0.0.1:1", nil},
		{2, "127.0.0.1", nil},
		{2, "127.0.0.1:0", nil},
		{2, "dc.example.com:443", nil},
		{2, "127.0.0.1:443", []byte("not pem")},
	} {
		_, err := tgparse.NewEndpoint(bad.dc, bad.addr, bad.pem)
		require.Error(t, err, "%+v", bad)
	}
}
