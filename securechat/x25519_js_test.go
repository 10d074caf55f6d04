//go:build js

package securechat

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"syscall/js"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestWebCryptoKeys checks the WebCrypto side itself (when this
// environment has it): a loaded private key is a non-extractable
// CryptoKey that exportKey refuses, and behind the table check WebCrypto
// refuses every low-order point's all-zero output as ErrLowOrderKey too.
func TestWebCryptoKeys(t *testing.T) {
	wc := webCrypto()
	if wc == nil {
		t.Skip("crypto.subtle lacks X25519 or Ed25519 here: the Go fallback is used (TestCryptoProvider)")
	}
	kp, err := newKeyPair(rand.Reader)
	require.NoError(t, err)
	require.Equal(t, "private", kp.k.web.Get("type").String())
	require.False(t, kp.k.web.Get("extractable").Bool())
	_, err = await(wc.s.Call("exportKey", "pkcs8", kp.k.web))
	require.Error(t, err, "a loaded private key must not be extractable")

	for i, p := range lowOrderPoints {
		for _, high := range []byte{0, 0x80} {
			u := p
			u[31] |= high
			peer, err := wc.importPublic(&u)
			if err != nil {
				continue // refused at import: stricter still
			}
			_, err = wc.derive(kp.k.web, peer)
			require.ErrorIs(t, err, ErrLowOrderKey, "point %d high %#x", i, high)
		}
	}
}

// TestWebCryptoPublicKeysKept: a public key agreed with again is not
// imported again; the kept keys are bounded, the oldest dropped first,
// and a key that fails to import is not kept.
func TestWebCryptoPublicKeysKept(t *testing.T) {
	var c publicKeys
	imports := 0
	imp := func(v any) func() (js.Value, error) {
		return func() (js.Value, error) {
			imports++
			return await(js.Global().Get("Promise").Call("resolve", v))
		}
	}
	raw := func(i int) []byte { return []byte{byte(i), byte(i >> 8), 31: 1} }
	k1, err := c.get(raw(0), imp("key 0"))
	require.NoError(t, err)
	k2, err := c.get(raw(0), imp("other"))
	require.NoError(t, err)
	require.Equal(t, "key 0", k1.String())
	require.True(t, k1.Equal(k2))
	require.Equal(t, 1, imports)
	for i := 1; i <= publicKeysKept; i++ {
		_, err := c.get(raw(i), imp("key"))
		require.NoError(t, err)
	}
	require.Len(t, c.keys, publicKeysKept)
	_, err = c.get(raw(0), imp("key 0 again")) // dropped first
	require.NoError(t, err)
	require.Equal(t, publicKeysKept+2, imports)

	fail := func() (js.Value, error) {
		imports++
		return await(js.Global().Get("Promise").Call("reject", js.Global().Get("Error").New("no")))
	}
	_, err = c.get(raw(999), fail)
	require.Error(t, err)
	_, err = c.get(raw(999), fail)
	require.Error(t, err)
	require.Equal(t, publicKeysKept+4, imports)
}

// breakSubtle makes crypto.subtle's method fail for the rest of the test:
// with a rejected Promise, or (throw) synchronously, as a browser whose
// WebCrypto passed the known answers might later.
func breakSubtle(t *testing.T, method string, throw bool) {
	t.Helper()
	s := js.Global().Get("crypto").Get("subtle")
	body := "return Promise.reject(new DOMException('failing on purpose', 'OperationError'))"
	if throw {
		body = "throw new TypeError('failing on purpose')"
	}
	s.Set(method, js.Global().Get("Function").New(body))
	t.Cleanup(func() {
		s.Delete(method)
		require.Equal(t, js.TypeFunction, s.Get(method).Type())
	})
}

// TestWebCryptoFailureMidSession: WebCrypto failing after it passed the
// known answers (a Promise rejected or a synchronous throw, in importKey,
// deriveBits or verify) changes no answer: every agreement and
// verification is crypto/ecdh's and crypto/ed25519's, a low-order key is
// still ErrLowOrderKey, and a session set up before goes on both ways,
// turning the ratchet, and restores from its state. Before, a refused
// deriveBits was ErrLowOrderKey, so the client dropped (and acknowledged)
// an honest message as forged, and a throw crashed the module.
func TestWebCryptoFailureMidSession(t *testing.T) {
	if webCrypto() == nil {
		t.Skip("crypto.subtle lacks X25519 or Ed25519 here: the Go fallback is used")
	}
	edPub, edPriv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	for _, method := range []string{"importKey", "deriveBits", "verify"} {
		for _, throw := range []bool{false, true} {
			t.Run(method+map[bool]string{false: " rejects", true: " throws"}[throw], func(t *testing.T) {
				loaded, err := newKeyPair(rand.Reader)
				require.NoError(t, err)
				alice, bob := pairSessions(t, nil)
				breakSubtle(t, method, throw)

				kp, err := newKeyPair(rand.Reader)
				require.NoError(t, err)
				_, pub, err := ecdhLoad(&kp.priv)
				require.NoError(t, err)
				require.Equal(t, pub, kp.pub)
				for _, k := range []keyPair{kp, loaded, {priv: kp.priv}} {
					peer, err := newKeyPair(rand.Reader)
					require.NoError(t, err)
					want, err := ecdhAgree(nil, &k.priv, &peer.pub)
					require.NoError(t, err)
					got, err := k.dh(&peer.pub)
					require.NoError(t, err)
					require.Equal(t, want, got)
					_, err = k.dh(&lowOrderPoints[3])
					require.ErrorIs(t, err, ErrLowOrderKey)
				}

				msg := []byte("signed " + method)
				sig := ed25519.Sign(edPriv, msg)
				require.True(t, verifySignature(edPub, msg, sig))
				require.False(t, verifySignature(edPub, append(msg, 0), sig))
				for _, v := range ed25519Edge(t)[:100] {
					key, _ := hex.DecodeString(v.Key)
					sig, _ := hex.DecodeString(v.Sig)
					require.Equal(t, ed25519.Verify(key, []byte(v.Msg), sig), verifySignature(key, []byte(v.Msg), sig), "vector %d", v.Number)
				}

				for i := range 3 { // each reply turns the ratchet: two agreements
					send(t, alice, bob, "to bob")
					send(t, bob, alice, "to alice")
					a2, err := UnmarshalSession(stateOf(t, alice), nil)
					require.NoError(t, err, "round %d", i)
					alice = a2
				}
				c, d := pairSessions(t, nil) // a whole setup
				send(t, d, c, "new session")
			})
		}
	}
	// WebCrypto again, once it works.
	kp, err := newKeyPair(rand.Reader)
	require.NoError(t, err)
	require.False(t, kp.k.web.IsUndefined())
}

// wrapSubtle replaces crypto.subtle's method, for the rest of the test,
// by the JavaScript function body of (orig, ...a), orig being the method
// bound to crypto.subtle.
func wrapSubtle(t *testing.T, method, body string) {
	t.Helper()
	s := js.Global().Get("crypto").Get("subtle")
	orig := s.Get(method).Call("bind", s)
	s.Set(method, js.Global().Get("Function").New("orig", "return (...a) => { "+body+" }").Invoke(orig))
	t.Cleanup(func() { s.Delete(method) })
}

// TestWebCryptoDetection: WebCrypto is used only when it does both
// algorithms and gives the known answers; a browser lacking one of them,
// answering wrongly, accepting a tampered signature, answering with
// something else than a Promise of the right thing, or throwing, gets
// the Go code for both, and nothing panics.
func TestWebCryptoDetection(t *testing.T) {
	if webCrypto() == nil {
		t.Skip("crypto.subtle lacks X25519 or Ed25519 here: the Go fallback is used")
	}
	vs := ed25519Edge(t)
	for i, n := range []int{51, 316} { // kaEdRefused are C2SP's, refused by crypto/ed25519
		v := kaEdRefused[i]
		require.Equal(t, n, vs[n].Number)
		require.Equal(t, vs[n].Key, hex.EncodeToString([]byte(v.pub)))
		require.Equal(t, vs[n].Sig, hex.EncodeToString([]byte(v.sig)))
		require.Equal(t, vs[n].Msg, v.msg)
		require.False(t, ed25519.Verify([]byte(v.pub), []byte(v.msg), []byte(v.sig)))
	}
	require.NotNil(t, detectWebCrypto())
	hide := func(name string) string {
		return "const n = typeof a[2] === 'string' ? a[2] : a[2] && a[2].name; if (n === '" + name + "') return Promise.reject(new DOMException('no', 'NotSupportedError')); return orig(...a);"
	}
	for _, c := range []struct{ name, method, body string }{
		{"passed through", "importKey", "return orig(...a);"}, // the wrapping itself is no failure
		{"no Ed25519", "importKey", hide("Ed25519")},
		{"no X25519", "importKey", hide("X25519")},
		{"importKey throws", "importKey", "throw new TypeError('no')"},
		{"importKey gives no Promise", "importKey", "return 1"},
		{"wrong agreement", "deriveBits", "return orig(...a).then((b) => { const u = new Uint8Array(b); u[5] ^= 1; return u.buffer; })"},
		{"short agreement", "deriveBits", "return orig(...a).then((b) => b.slice(0, 16))"},
		{"deriveBits throws", "deriveBits", "throw new TypeError('no')"},
		{"verify accepts all", "verify", "return Promise.resolve(true)"},
		{"verify refuses all", "verify", "return Promise.resolve(false)"},
		{"verify is laxer than crypto/ed25519", "verify", "if (new TextDecoder().decode(a[3]).startsWith('ed25519vectors')) return Promise.resolve(true); return orig(...a);"},
		{"verify answers no boolean", "verify", "return orig(...a).then((ok) => ok ? 'yes' : '')"},
		{"verify throws", "verify", "throw new TypeError('no')"},
	} {
		t.Run(c.name, func(t *testing.T) {
			wrapSubtle(t, c.method, c.body)
			if c.name == "passed through" {
				require.NotNil(t, detectWebCrypto())
				return
			}
			require.Nil(t, detectWebCrypto())
		})
	}
	require.NotNil(t, detectWebCrypto())
}

// TestWebCryptoSeesCanonicalPoints: a public key with bit 255 set or a
// u from p to 2^255-1 (non-canonical: RFC 7748 says to mask the bit and
// reduce u modulo p) reaches WebCrypto masked and reduced, so a browser
// that handled such encodings its own way could not agree differently
// from crypto/ecdh. The browser here is made to read them wrongly: any
// raw X25519 key not below p arrives as another point.
func TestWebCryptoSeesCanonicalPoints(t *testing.T) {
	if webCrypto() == nil {
		t.Skip("crypto.subtle lacks X25519 or Ed25519 here: the Go fallback is used")
	}
	wrapSubtle(t, "importKey", `const n = typeof a[2] === 'string' ? a[2] : a[2] && a[2].name;
		const k = a[1], big = k[31] >= 0x80 || (k[31] === 0x7f && k[0] >= 0xed && k.slice(1, 31).every((b) => b === 0xff));
		if (a[0] === 'raw' && n === 'X25519' && big) { const d = new Uint8Array(k); d[31] = 0x40; a[1] = d; }
		return orig(...a);`)
	kp, err := newKeyPair(rand.Reader)
	require.NoError(t, err)
	peer, err := newKeyPair(rand.Reader)
	require.NoError(t, err)
	p := [KeySize]byte{0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}
	var us [][KeySize]byte
	for _, high := range []byte{0, 0x80} {
		u := peer.pub
		u[31] |= high
		us = append(us, u)
		for i := 2; i <= 18; i++ { // p+2 to p+18: 2 to 18
			u := p
			u[0] += byte(i)
			u[31] |= high
			us = append(us, u)
		}
		u = [KeySize]byte{0: 9, 31: high}
		us = append(us, u)
	}
	for _, u := range us {
		want, err := ecdhAgree(nil, &kp.priv, &u)
		require.NoError(t, err, "u=%x", u)
		got, err := kp.dh(&u)
		require.NoError(t, err, "u=%x", u)
		require.Equal(t, want, got, "u=%x", u)
	}
}
