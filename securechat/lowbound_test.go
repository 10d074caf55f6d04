package securechat

import (
	"crypto/rand"
	"math/big"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/curve25519"
)

// probeLowOrder is the reference checkPublicKey is tested against:
// X25519 with a fixed clamped scalar fails exactly for the u-coordinates
// of small order (the all-zero output).
func probeLowOrder(pub *[KeySize]byte) bool {
	scalar := [KeySize]byte{8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 64}
	_, err := curve25519.X25519(scalar[:], pub[:])
	return err != nil
}

func leU(n *big.Int) [KeySize]byte {
	var out [KeySize]byte
	b := n.Bytes()
	for i := range b {
		out[i] = b[len(b)-1-i]
	}
	return out
}

// TestCheckPublicKeyAgreesWithX25519 compares the table with X25519 on
// every encoding that matters: each listed point with bit 255 clear and
// set, every non-canonical encoding (p to 2^255-1), the neighbours of each
// listed point, and random keys. (Before the table, checkPublicKey was
// this probe: one scalar multiplication per key.)
func TestCheckPublicKeyAgreesWithX25519(t *testing.T) {
	p := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	var cases [][KeySize]byte
	for _, lo := range lowOrderPoints {
		high := lo
		high[31] |= 0x80
		cases = append(cases, lo, high)
		u := new(big.Int).SetBytes(reverse(lo[:]))
		for _, d := range []int64{-1, 1} {
			n := new(big.Int).Add(u, big.NewInt(d))
			if n.Sign() >= 0 && n.BitLen() <= 255 {
				cases = append(cases, leU(n))
			}
		}
	}
	for i := int64(0); i < 19; i++ {
		cases = append(cases, leU(new(big.Int).Add(p, big.NewInt(i))))
	}
	for range 300 {
		var k [KeySize]byte
		rand.Read(k[:])
		cases = append(cases, k)
	}
	low := map[[KeySize]byte]bool{}
	for _, c := range cases {
		want := probeLowOrder(&c)
		got := checkPublicKey(&c) != nil
		require.Equal(t, want, got, "u = %x", c)
		if want {
			assert.ErrorIs(t, checkPublicKey(&c), ErrLowOrderKey)
			low[c] = true
		}
	}
	assert.Len(t, low, 2*len(lowOrderPoints), "each listed point refused, with bit 255 clear or set, and nothing else")
}

func FuzzCheckPublicKey(f *testing.F) {
	for _, lo := range lowOrderPoints {
		f.Add(lo[:])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var u [KeySize]byte
		copy(u[:], b)
		if probeLowOrder(&u) != (checkPublicKey(&u) != nil) {
			t.Fatalf("checkPublicKey disagrees with X25519 on %x", u)
		}
	})
}

func reverse(b []byte) []byte {
	out := make([]byte, len(b))
	for i := range b {
		out[len(b)-1-i] = b[i]
	}
	return out
}

// TestSealToIsBoxSeal: SealTo (an identity's loaded key pair) and BoxSeal
// (x/crypto's box key, as NaCl computes it) open each other's boxes.
func TestSealToIsBoxSeal(t *testing.T) {
	a, b := newID(t), newID(t)
	sealed, err := a.SealTo(b.Public(), []byte("state"))
	require.NoError(t, err)
	var nonce [NonceSize]byte
	copy(nonce[:], sealed)
	peer := a.Public().DHKey
	m, err := BoxOpen(nil, sealed[NonceSize:], &nonce, &peer, &b.dh)
	require.NoError(t, err)
	assert.Equal(t, "state", string(m))
	bobPub := b.Public().DHKey
	boxed, err := BoxSeal(append([]byte(nil), nonce[:]...), []byte("back"), &nonce, &bobPub, &a.dh)
	require.NoError(t, err)
	m, err = b.OpenFrom(a.Public(), boxed)
	require.NoError(t, err)
	assert.Equal(t, "back", string(m))
}
