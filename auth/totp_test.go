package auth

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// RFC 6238 Appendix B test vectors: 8 digits, 30 s period, the ASCII seeds
// "12345678901234567890" repeated to the hash's length.
func TestTOTPRFC6238Vectors(t *testing.T) {
	seeds := map[TOTPAlgorithm]string{
		TOTPSHA1:   "12345678901234567890",
		TOTPSHA256: "12345678901234567890123456789012",
		TOTPSHA512: "1234567890123456789012345678901234567890123456789012345678901234",
	}
	vectors := []struct {
		unix int64
		alg  TOTPAlgorithm
		code string
	}{
		{59, TOTPSHA1, "94287082"}, {59, TOTPSHA256, "46119246"}, {59, TOTPSHA512, "90693936"},
		{1111111109, TOTPSHA1, "07081804"}, {1111111109, TOTPSHA256, "68084774"}, {1111111109, TOTPSHA512, "25091201"},
		{1111111111, TOTPSHA1, "14050471"}, {1111111111, TOTPSHA256, "67062674"}, {1111111111, TOTPSHA512, "99943326"},
		{1234567890, TOTPSHA1, "89005924"}, {1234567890, TOTPSHA256, "91819424"}, {1234567890, TOTPSHA512, "93441116"},
		{2000000000, TOTPSHA1, "69279037"}, {2000000000, TOTPSHA256, "90698825"}, {2000000000, TOTPSHA512, "38618901"},
		{20000000000, TOTPSHA1, "65353130"}, {20000000000, TOTPSHA256, "77737706"}, {20000000000, TOTPSHA512, "47863826"},
	}
	for _, v := range vectors {
		t.Run(string(v.alg)+"/"+time.Unix(v.unix, 0).UTC().Format(time.RFC3339), func(t *testing.T) {
			g := TOTP{Secret: []byte(seeds[v.alg]), Digits: 8, Algorithm: v.alg}
			got, err := g.Code(time.Unix(v.unix, 0))
			require.NoError(t, err)
			assert.Equal(t, v.code, got)
			step, ok := g.Match(v.code, time.Unix(v.unix, 0))
			assert.True(t, ok)
			assert.Equal(t, v.unix/30, step)
		})
	}
}

func TestTOTPSkewWindow(t *testing.T) {
	g := TOTP{Secret: []byte("12345678901234567890")}
	base := time.Unix(1_700_000_010, 0)
	code, err := g.Code(base)
	require.NoError(t, err)
	require.Len(t, code, 6)
	for _, tc := range []struct {
		offset time.Duration
		ok     bool
	}{{-60 * time.Second, false}, {-30 * time.Second, true}, {0, true}, {30 * time.Second, true}, {60 * time.Second, false}} {
		_, ok := g.Match(code, base.Add(tc.offset))
		assert.Equal(t, tc.ok, ok, "offset %s", tc.offset)
	}
	_, ok := g.Match("12345", base)
	assert.False(t, ok, "wrong length")
	_, ok = g.Match("", base)
	assert.False(t, ok)
}

func TestTOTPBadConfig(t *testing.T) {
	_, err := TOTP{Secret: []byte("x"), Algorithm: "MD5"}.CodeAt(1)
	require.Error(t, err)
	_, err = TOTP{Secret: []byte("x"), Digits: 11}.CodeAt(1)
	require.Error(t, err)
	for _, p := range []time.Duration{time.Millisecond, 500 * time.Millisecond, 1500 * time.Millisecond} {
		g := TOTP{Secret: []byte("x"), Period: p}
		now := time.Unix(1_700_000_000, 0)
		require.NotPanics(t, func() { g.Step(now) }, "period %s", p)
		_, err = g.Code(now)
		require.Error(t, err, "period %s", p)
		_, ok := g.Match("123456", now)
		assert.False(t, ok)
		assert.NotPanics(t, func() { g.URI("finkit", "alice") })
	}
}

func TestTOTPURI(t *testing.T) {
	g := TOTP{Secret: []byte("12345678901234567890")}
	u := g.URI("finkit", "alice")
	assert.True(t, strings.HasPrefix(u, "otpauth://totp/finkit:alice?"), u)
	assert.Contains(t, u, "secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")
	assert.Contains(t, u, "issuer=finkit")
	assert.Contains(t, u, "digits=6")
	assert.Contains(t, u, "period=30")
}
