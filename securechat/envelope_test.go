//go:build !js

package securechat

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func sampleEnvelopes(t testing.TB) (initial, normal []byte) {
	t.Helper()
	a, b := newParty(t, 1), newParty(t, 1)
	s, err := Initiate(a.id, bundleOf(t, b, true), nil)
	require.NoError(t, err)
	e, err := s.Encrypt([]byte("first"))
	require.NoError(t, err)
	alice, _ := pairSessions(t, nil)
	n, err := alice.Encrypt([]byte("hello"))
	require.NoError(t, err)
	n.Type = TypeNormal
	n.Prekey = nil
	return e.Marshal(), n.Marshal()
}

func TestEnvelopeRoundTrip(t *testing.T) {
	initial, normal := sampleEnvelopes(t)
	for _, raw := range [][]byte{initial, normal} {
		e, err := ParseEnvelope(raw)
		require.NoError(t, err)
		assert.Equal(t, raw, e.Marshal())
	}
}

func TestEnvelopeStrictDecoder(t *testing.T) {
	initial, normal := sampleEnvelopes(t)
	ctLenAt := len(normal) - (len("hello") + Overhead) - 4
	withCTLen := func(n uint32) []byte {
		b := bytes.Clone(normal)
		binary.BigEndian.PutUint32(b[ctLenAt:], n)
		return b
	}
	cases := map[string]struct {
		raw  []byte
		want error
	}{
		"empty":             {nil, ErrMalformed},
		"one byte":          {[]byte{1}, ErrMalformed},
		"old version 1":     {append([]byte{1}, normal[1:]...), ErrMalformed},
		"unknown version 3": {append([]byte{3}, normal[1:]...), ErrMalformed},
		"bad type":          {append([]byte{EnvelopeVersion, 9}, normal[2:]...), ErrMalformed},
		"trailing byte":     {append(bytes.Clone(normal), 0), ErrMalformed},
		"truncated":         {normal[:len(normal)-1], ErrMalformed},
		"header only":       {normal[:ctLenAt], ErrMalformed},
		"huge ct length":    {withCTLen(0xffffffff), ErrTooLarge},
		"short ct length":   {withCTLen(3), ErrMalformed},
		"oversized":         {make([]byte, MaxEnvelopeSize+1), ErrTooLarge},
		"sender len 0":      {append([]byte{EnvelopeVersion, 2, 0}, normal[3:]...), ErrMalformed},
		"sender len 255":    {append([]byte{EnvelopeVersion, 2, 255}, normal[3:]...), ErrMalformed},
		"initial as normal": {append([]byte{EnvelopeVersion, 2}, initial[2:]...), nil}, // malformed or too large, depending on the bytes
		"normal as initial": {append([]byte{EnvelopeVersion, 1}, normal[2:]...), ErrMalformed},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			e, err := ParseEnvelope(c.raw)
			require.Error(t, err)
			if c.want != nil {
				require.ErrorIs(t, err, c.want)
			}
			require.Nil(t, e)
		})
	}
}

func FuzzParseEnvelope(f *testing.F) {
	initial, normal := sampleEnvelopes(f)
	f.Add(initial)
	f.Add(normal)
	f.Add([]byte{1, 2, 43})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := ParseEnvelope(data)
		if err != nil {
			require.Nil(t, e)
			return
		}
		// Whatever parses re-encodes to exactly the same bytes.
		require.Equal(t, data, e.Marshal())
		require.LessOrEqual(t, len(e.Ciphertext), MaxCiphertextSize)
	})
}

// FuzzParseBundle feeds hostile relay answers to the bundle parser.
func FuzzParseBundle(f *testing.F) {
	p := newParty(f, 1)
	f.Add(bundleOf(f, p, true).Marshal())
	f.Add(bundleOf(f, p, false).Marshal())
	f.Add(p.prekeys.Upload(p.id).Marshal())
	f.Fuzz(func(t *testing.T, data []byte) {
		if b, err := ParseBundle(data); err == nil {
			require.NoError(t, b.Verify())
			require.Equal(t, data, b.Marshal())
		}
		if u, err := ParsePrekeyUpload(data); err == nil {
			require.Equal(t, data, u.Marshal())
		}
	})
}

// FuzzDecodeInner checks the decrypted-payload decoder (groups) never
// panics and round-trips what it accepts.
func FuzzDecodeInner(f *testing.F) {
	id := newID(f)
	f.Add(encodeInner(inner{kind: kindDirect, body: []byte("hi")}))
	f.Add(encodeInner(inner{kind: kindGroup, group: "g", body: []byte("hi")}))
	f.Add(encodeInner(inner{kind: kindGroupUpdate, group: "g", members: []PeerID{id.ID()}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		in, err := decodeInner(data)
		if err != nil {
			return
		}
		require.Equal(t, data, encodeInner(in))
	})
}
