//go:build js

package securechat

import (
	"crypto/rand"
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
