package tgparse

import (
	"fmt"
	"net"
	"strconv"

	"github.com/gotd/td/crypto"
	"github.com/gotd/td/telegram"
	"github.com/gotd/td/telegram/dcs"
	"github.com/gotd/td/tg"
)

// NewEndpoint returns an Endpoint for a Telegram other than production:
// data centre dc at addr (host:port), whose RSA public keys are given in PEM
// (one or more "RSA PUBLIC KEY" or "PUBLIC KEY" blocks; nil keeps
// Telegram's own keys, as for Telegram's test DCs). It lets a program point
// accounts at Telegram's test servers or an MTProto test server from its
// configuration without importing gotd/td.
func NewEndpoint(dc int, addr string, publicKeysPEM []byte) (*Endpoint, error) {
	if dc <= 0 {
		return nil, configErr("endpoint: dc must be positive, got %d", dc)
	}
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, configErr("endpoint: address %q: want host:port", addr)
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port <= 0 || port > 65535 {
		return nil, configErr("endpoint: address %q: bad port", addr)
	}
	ip := host
	if a := net.ParseIP(host); a == nil {
		return nil, configErr("endpoint: address %q: the host must be an IP address", addr)
	}
	opt := tg.DCOption{ID: dc, IPAddress: ip, Port: port}
	if net.ParseIP(host).To4() == nil {
		opt.Ipv6 = true
	}
	e := &Endpoint{DC: dc, DCList: dcs.List{Options: []tg.DCOption{opt}}}
	if len(publicKeysPEM) > 0 {
		keys, err := crypto.ParseRSAPublicKeys(publicKeysPEM)
		if err != nil {
			return nil, fmt.Errorf("tgparse: endpoint: public keys: %w", err)
		}
		if len(keys) == 0 {
			return nil, configErr("endpoint: no public key in the PEM data")
		}
		for _, k := range keys {
			e.PublicKeys = append(e.PublicKeys, telegram.PublicKey{RSA: k})
		}
	}
	return e, nil
}
