package securechat

import (
	"bytes"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"strconv"
	"strings"
)

// safetyIterations is the number of SHA-512 rounds per fingerprint half,
// as in Signal's numeric fingerprints; it makes a targeted collision search
// proportionally more expensive.
const safetyIterations = 5200

const safetyVersion = 0

// SafetyNumber returns the 60-digit number (12 groups of 5 digits) that two
// parties compare out of band to verify each other's identity keys. It is
// symmetric: SafetyNumber(a, b) == SafetyNumber(b, a). Each party
// contributes 30 digits from an iterated SHA-512 over its Ed25519 identity
// key; the halves are sorted and concatenated, so a change of either
// party's key changes the number. The X25519 key is covered too: it is only
// accepted with a valid binding signature by that same Ed25519 key (see
// PublicIdentity.Verify), so it cannot be swapped without changing the
// Ed25519 key and therefore the number.
func SafetyNumber(a, b PublicIdentity) string {
	return safetyNumber(a.SigningKey, b.SigningKey)
}

// SafetyNumberOf computes the safety number from two PeerIDs (which encode
// the Ed25519 identity keys), e.g. for a peer whose id was given on the
// command line.
func SafetyNumberOf(a, b PeerID) (string, error) {
	ka, err := peerKey(a)
	if err != nil {
		return "", err
	}
	kb, err := peerKey(b)
	if err != nil {
		return "", err
	}
	return safetyNumber(ka, kb), nil
}

func peerKey(p PeerID) ([]byte, error) {
	if _, err := ParsePeerID(string(p)); err != nil {
		return nil, err
	}
	return base64.RawURLEncoding.DecodeString(string(p))
}

func safetyNumber(ka, kb []byte) string {
	x, y := fingerprintHalf(ka), fingerprintHalf(kb)
	if x > y {
		x, y = y, x
	}
	all := x + y
	groups := make([]string, 0, 12)
	for i := 0; i < len(all); i += 5 {
		groups = append(groups, all[i:i+5])
	}
	return strings.Join(groups, " ")
}

func fingerprintHalf(key []byte) string {
	h := sha512.New()
	var buf []byte
	buf = binary.BigEndian.AppendUint16(buf, safetyVersion)
	buf = append(buf, key...)
	buf = append(buf, base64.RawURLEncoding.EncodeToString(key)...)
	sum := buf
	for range safetyIterations {
		h.Reset()
		h.Write(sum)
		h.Write(key)
		sum = h.Sum(nil)
	}
	var sb strings.Builder
	for i := 0; i < 30; i += 5 {
		v := uint64(sum[i])<<32 | uint64(sum[i+1])<<24 | uint64(sum[i+2])<<16 | uint64(sum[i+3])<<8 | uint64(sum[i+4])
		d := strconv.FormatUint(v%100000, 10)
		sb.WriteString("00000"[len(d):])
		sb.WriteString(d)
	}
	return sb.String()
}

// SafetyNumbersEqual compares two safety numbers, ignoring spacing.
func SafetyNumbersEqual(x, y string) bool {
	strip := func(s string) []byte {
		return []byte(strings.Join(strings.Fields(s), ""))
	}
	return bytes.Equal(strip(x), strip(y))
}
