package amocrm

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http/httptrace"
	"sync"
)

// sendTrace follows one HTTP attempt through net/http/httptrace to tell a
// failure before the request left the machine (DNS, dial, TLS handshake,
// proxy CONNECT) from one after it may have reached amoCRM.
//
// net/http obtains a connection (GotConn) before it writes a byte, in the
// goroutine that returns the error, so an attempt that failed without
// GotConn after its GetConn wrote nothing. WroteRequest is reported from
// the writing goroutine and may come after the error (a cancel during the
// write), so it only ever adds "may have been sent". The transport retries
// a POST/PATCH/DELETE on its own only when nothing was written, which is
// why GetConn starts the count of an attempt afresh.
type sendTrace struct {
	mu      sync.Mutex
	traced  bool // the transport reports httptrace events
	gotConn bool // the current attempt has a connection
	wrote   bool // some attempt wrote the request
}

func (s *sendTrace) attach(ctx context.Context) context.Context {
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GetConn: func(string) {
			s.mu.Lock()
			s.traced, s.gotConn = true, false
			s.mu.Unlock()
		},
		GotConn: func(httptrace.GotConnInfo) {
			s.mu.Lock()
			s.traced, s.gotConn = true, true
			s.mu.Unlock()
		},
		WroteRequest: func(httptrace.WroteRequestInfo) {
			s.mu.Lock()
			s.traced, s.wrote = true, true
			s.mu.Unlock()
		},
	})
}

// notSent reports whether the attempt that failed with err certainly did
// not send the request. Without trace events (a RoundTripper that does not
// report them) it falls back to the error: only a failed name lookup, dial
// or certificate check counts as not sent.
func (s *sendTrace) notSent(err error) bool {
	s.mu.Lock()
	traced, sent := s.traced, s.gotConn || s.wrote
	s.mu.Unlock()
	if traced {
		return !sent
	}
	return failedBeforeSend(err)
}

// failedBeforeSend recognises errors that can only happen before a request
// is written. A tls.RecordHeaderError is not among them: it can also come
// from reading a response after the request went out.
func failedBeforeSend(err error) bool {
	var (
		dnsErr     *net.DNSError
		opErr      *net.OpError
		verifyErr  *tls.CertificateVerificationError
		unknownCA  x509.UnknownAuthorityError
		hostErr    x509.HostnameError
		invalidErr x509.CertificateInvalidError
	)
	switch {
	case errors.As(err, &dnsErr), errors.As(err, &verifyErr),
		errors.As(err, &unknownCA), errors.As(err, &hostErr), errors.As(err, &invalidErr):
		return true
	case errors.As(err, &opErr):
		return opErr.Op == "dial"
	}
	return false
}
