package auth

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPolicyRules(t *testing.T) {
	pp, err := Policy{}.build()
	require.NoError(t, err)
	assert.GreaterOrEqual(t, len(pp.blocked), 9990, "embedded blocklist loaded")
	tests := []struct {
		name, password, username string
		want                     error
	}{
		{"ok", "correct horse battery staple", "alice", nil},
		{"ok unicode", "пароль для входа в систему", "alice", nil},
		{"ok emoji", "🔐🔑🗝️ my vault of secrets", "alice", nil},
		{"exactly 15", "abcdefghijklmno", "alice", nil},
		{"14 chars", "abcdefghijklmn", "alice", ErrPasswordTooShort},
		{"15 runes not bytes", "ééééééé", "alice", ErrPasswordTooShort},
		{"empty", "", "alice", ErrPasswordTooShort},
		{"too many chars", strings.Repeat("ab", 129), "alice", ErrPasswordTooLong},
		{"too many bytes", strings.Repeat("a", MaxPasswordBytes+1), "alice", ErrPasswordTooLong},
		{"NFKC expansion past byte limit", strings.Repeat("\ufdfa", 60), "alice", ErrPasswordTooLong},
		{"invalid utf8", "valid prefix then \xff\xfe junk", "alice", ErrPasswordInvalidUTF8},
		{"repetitive", strings.Repeat("z", 20), "alice", ErrPasswordRepetitive},
		{"contains username", "xxAliCexx-and-more-words", "alice", ErrPasswordContainsUsername},
		// A common password repeated or spelt out with separators is as
		// weak as the password (accepted by `finkit user add` before).
		{"word repeated", "password password password", "alice", ErrPasswordRepetitive},
		{"word repeated no spaces", "passwordpasswordpassword", "alice", ErrPasswordRepetitive},
		{"word repeated mixed separators", "Dragon-dragon_DRAGON.dragon", "alice", ErrPasswordRepetitive},
		{"group repeated", "abcabcabcabcabc", "alice", ErrPasswordRepetitive},
		{"common with separators", "1-2-3-4-5-6-7-8-9-0", "alice", ErrPasswordCommon},
		{"ok different words", "password for the garden shed", "alice", nil},
		{"ok punctuation only kept", "!!!!@@@@####$$$$", "alice", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := pp.check(tt.password, tt.username)
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.want)
			require.ErrorIs(t, err, ErrWeakPassword)
		})
	}
}

func TestPolicyBlocklist(t *testing.T) {
	pp, err := Policy{MinLength: 8, Blocklist: []string{"Finkit Rocks 2026"}}.build()
	require.NoError(t, err)
	for _, pw := range []string{"password", "PASSWORD", "12345678", "iloveyou", "finkit rocks 2026", "ＦＩＮＫＩＴ ＲＯＣＫＳ ２０２６"} {
		_, err := pp.check(pw, "")
		require.ErrorIs(t, err, ErrPasswordCommon, pw)
	}
	_, err = pp.check("unusual words together", "")
	require.NoError(t, err)
}

func TestPolicyNormalizesNFKC(t *testing.T) {
	pp, err := Policy{}.build()
	require.NoError(t, err)
	got, err := pp.check("ｆｕｌｌｗｉｄｔｈ ｐａｓｓｐｈｒａｓｅ", "")
	require.NoError(t, err)
	assert.Equal(t, "fullwidth passphrase", got)
	// Composed and decomposed forms are the same password.
	a, err := pp.check("caf\u00e9 au lait et croissant", "")
	require.NoError(t, err)
	b, err := pp.check("cafe\u0301 au lait et croissant", "")
	require.NoError(t, err)
	assert.Equal(t, a, b)
}

func TestPolicyLimits(t *testing.T) {
	for _, tc := range []struct {
		p  Policy
		ok bool
	}{
		{Policy{}, true},
		{Policy{MinLength: 8}, true},
		{Policy{MinLength: 7}, false},
		{Policy{MaxLength: 64}, true},
		{Policy{MaxLength: 63}, false},
		{Policy{MinLength: 70, MaxLength: 64}, false},
	} {
		err := tc.p.CheckPassword("a perfectly fine passphrase", "bob")
		if tc.ok {
			assert.NoError(t, err, "%+v", tc.p)
		} else {
			assert.Error(t, err, "%+v", tc.p)
		}
	}
	err := Policy{}.CheckPassword("short", "")
	require.ErrorIs(t, err, ErrPasswordTooShort)
	assert.Contains(t, err.Error(), "at least 15 characters, got 5")
}
