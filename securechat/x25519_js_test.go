//go:build js

package securechat

import (
	"crypto/rand"
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
