package tgparsetest

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"math/big"

	"github.com/gotd/td/exchange"
	"github.com/gotd/td/tg"
)

// srpState is the server side of Telegram's SRP check of the cloud
// password (https://core.telegram.org/api/srp), so a wrong password is
// really rejected.
type srpState struct {
	id           int64
	salt1, salt2 []byte
	g            int
	p            *big.Int
	v            *big.Int
	b            *big.Int
	gb           []byte // B, 256 bytes
}

func h(data ...[]byte) []byte {
	hh := sha256.New()
	for _, d := range data {
		hh.Write(d)
	}
	return hh.Sum(nil)
}

func pad256(x *big.Int) []byte {
	out := make([]byte, 256)
	x.FillBytes(out)
	return out
}

// passwordX computes x = PH2(password, salt1, salt2).
func passwordX(password string, salt1, salt2 []byte) (*big.Int, error) {
	sh := func(data, salt []byte) []byte { return h(salt, data, salt) }
	ph1 := sh(sh([]byte(password), salt1), salt2)
	key, err := pbkdf2.Key(sha512.New, string(ph1), salt1, 100000, 64)
	if err != nil {
		return nil, err
	}
	return new(big.Int).SetBytes(sh(key, salt2)), nil
}

func newSRP(password string) (*srpState, error) {
	p, err := exchange.TestServerRNG{}.DhPrime()
	if err != nil {
		return nil, err
	}
	st := &srpState{id: randInt(1 << 62), g: 3, p: p, salt1: make([]byte, 16), salt2: make([]byte, 16)}
	_, _ = rand.Read(st.salt1)
	_, _ = rand.Read(st.salt2)
	x, err := passwordX(password, st.salt1, st.salt2)
	if err != nil {
		return nil, err
	}
	g := big.NewInt(int64(st.g))
	st.v = new(big.Int).Exp(g, x, p)
	bb := make([]byte, 256)
	_, _ = rand.Read(bb)
	st.b = new(big.Int).SetBytes(bb)
	k := new(big.Int).SetBytes(h(pad256(p), pad256(g)))
	// B = (k*v + g^b) mod p
	kv := new(big.Int).Mul(k, st.v)
	B := new(big.Int).Add(kv, new(big.Int).Exp(g, st.b, p))
	B.Mod(B, p)
	st.gb = pad256(B)
	return st, nil
}

func (st *srpState) algo() *tg.PasswordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow {
	return &tg.PasswordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow{
		Salt1: st.salt1, Salt2: st.salt2, G: st.g, P: pad256(st.p),
	}
}

func (st *srpState) accountPassword() *tg.AccountPassword {
	ap := &tg.AccountPassword{
		HasPassword:   true,
		CurrentAlgo:   st.algo(),
		SRPB:          st.gb,
		SRPID:         st.id,
		NewAlgo:       st.algo(),
		NewSecureAlgo: &tg.SecurePasswordKdfAlgoSHA512{Salt: st.salt1},
		SecureRandom:  st.salt2,
	}
	ap.SetFlags()
	return ap
}

// verify checks the client's proof M1 for its A.
func (st *srpState) verify(a, m1 []byte) bool {
	if len(a) != 256 || len(m1) != 32 {
		return false
	}
	A := new(big.Int).SetBytes(a)
	if A.Sign() <= 0 || A.Cmp(st.p) >= 0 {
		return false
	}
	u := new(big.Int).SetBytes(h(a, st.gb))
	// S = (A * v^u)^b mod p
	S := new(big.Int).Exp(st.v, u, st.p)
	S.Mul(S, A).Mod(S, st.p)
	S.Exp(S, st.b, st.p)
	K := h(pad256(S))
	hp := sha256.Sum256(pad256(st.p))
	hg := sha256.Sum256(pad256(big.NewInt(int64(st.g))))
	var x [32]byte
	for i := range x {
		x[i] = hp[i] ^ hg[i]
	}
	want := h(x[:], h(st.salt1), h(st.salt2), a, st.gb, K)
	return subtle.ConstantTimeCompare(want, m1) == 1
}
