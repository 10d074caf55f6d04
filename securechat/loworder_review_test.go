package securechat

import (
	"crypto/ecdh"
	"crypto/rand"
	"math/big"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/curve25519"
	"golang.org/x/crypto/nacl/box"
)

// smallOrderByCofactor is a reference for checkPublicKey that uses no
// X25519 code: u (bit 255 ignored, reduced mod p as X25519 does) is of
// small order on the curve or its twist exactly when multiplying by the
// cofactor 8 (three x-only doublings, projective) gives the point at
// infinity (Z = 0).
func smallOrderByCofactor(pub *[KeySize]byte) bool {
	p := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	b := *pub
	b[31] &= 0x7f
	x := new(big.Int).SetBytes(reverse(b[:]))
	x.Mod(x, p)
	z := big.NewInt(1)
	a24 := big.NewInt(121666)
	mod := func(v *big.Int) *big.Int { return v.Mod(v, p) }
	for range 3 {
		s := mod(new(big.Int).Add(x, z))
		d := mod(new(big.Int).Sub(x, z))
		s2 := mod(new(big.Int).Mul(s, s))
		d2 := mod(new(big.Int).Mul(d, d))
		e := mod(new(big.Int).Sub(s2, d2)) // 4xz
		x = mod(new(big.Int).Mul(s2, d2))
		z = mod(new(big.Int).Mul(e, mod(new(big.Int).Add(d2, mod(new(big.Int).Mul(a24, e))))))
	}
	return z.Sign() == 0
}

// zeroOutput reports whether X25519(scalar, u) is all zeros (x/crypto
// refuses that output; crypto/ecdh too).
func zeroOutput(t *testing.T, scalar, u []byte) bool {
	t.Helper()
	_, err := curve25519.X25519(scalar, u)
	k, kerr := ecdh.X25519().NewPrivateKey(scalar)
	require.NoError(t, kerr)
	pk, perr := ecdh.X25519().NewPublicKey(u)
	require.NoError(t, perr)
	_, eerr := k.ECDH(pk)
	require.Equal(t, err != nil, eerr != nil, "x/crypto and crypto/ecdh disagree on u = %x", u)
	return err != nil
}

// TestReviewLowOrderExhaustive: for every encoding that could matter (the
// seven listed points and their bit-255 variants, every u below 64 and
// every u within 64 of p-1 and of each listed order-8 point, every
// non-canonical u in [p, 2^255) with bit 255 clear and set, and random
// keys), checkPublicKey refuses exactly what X25519 maps to all zeros,
// with several different scalars (fixed, all-ones, minimal, random), and
// exactly the points of small order by an independent big-integer
// computation.
func TestReviewLowOrderExhaustive(t *testing.T) {
	p := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	var cands [][KeySize]byte
	add := func(n *big.Int) {
		if n.Sign() < 0 || n.BitLen() > 255 {
			return
		}
		u := leU(n)
		hi := u
		hi[31] |= 0x80
		cands = append(cands, u, hi)
	}
	for i := int64(0); i < 64; i++ {
		add(big.NewInt(i))
	}
	for i := int64(-64); i < 19; i++ {
		add(new(big.Int).Add(p, big.NewInt(i))) // p-64 .. 2^255-1
	}
	for _, lo := range lowOrderPoints {
		c := new(big.Int).SetBytes(reverse(lo[:]))
		for d := int64(-8); d <= 8; d++ {
			add(new(big.Int).Add(c, big.NewInt(d)))
		}
	}
	for range 200 {
		var k [KeySize]byte
		_, _ = rand.Read(k[:])
		cands = append(cands, k)
	}
	scalars := [][]byte{
		{8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 64},
		make([]byte, KeySize), // clamps to 2^254
		{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
	}
	for range 3 {
		s := make([]byte, KeySize)
		_, _ = rand.Read(s)
		scalars = append(scalars, s)
	}
	refused := map[[KeySize]byte]bool{}
	for _, u := range cands {
		got := checkPublicKey(&u) != nil
		require.Equal(t, smallOrderByCofactor(&u), got, "checkPublicKey vs cofactor reference on u = %x", u)
		for _, s := range scalars {
			require.Equal(t, zeroOutput(t, s, u[:]), got, "checkPublicKey vs X25519(%x, u) on u = %x", s, u)
		}
		if got {
			refused[u] = true
		}
	}
	// 5 canonical points + p, p+1 = 7, each with bit 255 clear and set.
	require.Len(t, refused, 14)
}

// FuzzReviewLowOrder checks checkPublicKey against the cofactor reference
// and X25519 with a fuzzed scalar.
func FuzzReviewLowOrder(f *testing.F) {
	for _, lo := range lowOrderPoints {
		f.Add(lo[:], []byte{1})
	}
	f.Fuzz(func(t *testing.T, ub, sb []byte) {
		var u [KeySize]byte
		copy(u[:], ub)
		s := make([]byte, KeySize)
		copy(s, sb)
		got := checkPublicKey(&u) != nil
		if smallOrderByCofactor(&u) != got || zeroOutput(t, s, u[:]) != got {
			t.Fatalf("disagreement on u = %x, scalar %x", u, s)
		}
	})
}

// TestReviewLoadedKeyIsNaClBox: for random key pairs, and peer keys with
// bit 255 set or a non-canonical u (not of small order), the loaded key's
// box key (SealTo, OpenFrom), BoxPrecompute and x/crypto's box.Precompute
// (NaCl's crypto_box_beforenm) are the same bytes, and a keyPair built
// field by field agrees with a loaded one.
func TestReviewLoadedKeyIsNaClBox(t *testing.T) {
	p := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	for i := range 200 {
		var priv, peer [KeySize]byte
		_, _ = rand.Read(priv[:])
		_, _ = rand.Read(peer[:])
		switch i % 4 {
		case 1:
			peer[31] |= 0x80
		case 2:
			peer = leU(new(big.Int).Add(p, big.NewInt(int64(2+i%17)))) // p+2 .. p+18
		}
		if checkPublicKey(&peer) != nil {
			continue
		}
		kp, err := keyPairOf(&priv)
		require.NoError(t, err)
		wantPub, err := curve25519.X25519(priv[:], curve25519.Basepoint)
		require.NoError(t, err)
		require.Equal(t, wantPub, kp.pub[:])
		var want [KeySize]byte
		box.Precompute(&want, &peer, &priv)
		got, err := boxKey(&kp, &peer)
		require.NoError(t, err)
		require.Equal(t, want, *got, "loaded key, peer %x", peer)
		got2, err := BoxPrecompute(&peer, &priv)
		require.NoError(t, err)
		require.Equal(t, want, *got2)
		s1, err := kp.dh(&peer)
		require.NoError(t, err)
		s2, err := (&keyPair{priv: priv}).dh(&peer)
		require.NoError(t, err)
		s3, err := curve25519.X25519(priv[:], peer[:])
		require.NoError(t, err)
		require.Equal(t, s1, s2)
		require.Equal(t, s3, s1[:])
	}
}
