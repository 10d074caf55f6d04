package auth

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNormalizeUsername(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"alice", "alice", true},
		{"Alice", "alice", true},
		{"a.b_c-d", "a.b_c-d", true},
		{"abc", "abc", true},
		{strings.Repeat("x", 32), strings.Repeat("x", 32), true},
		{"ab", "", false},
		{strings.Repeat("x", 33), "", false},
		{"", "", false},
		{"al ice", "", false},
		{"alice@home", "", false},
		{"ålice", "", false},
		{"\u212Aate", "", false}, // Kelvin sign would lower-case to "k"
		{"bob\n", "", false},
		{"ＡＬＩＣＥ", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := NormalizeUsername(tt.in)
			if !tt.ok {
				require.ErrorIs(t, err, ErrInvalidUsername)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestNormalizeEmail(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"", "", true},
		{"  ", "", true},
		{"bob@example.com", "bob@example.com", true},
		{" Bob.Smith@EXAMPLE.Com ", "Bob.Smith@example.com", true},
		{"a+tag@sub.example.org", "a+tag@sub.example.org", true},
		{"root@localhost", "root@localhost", true},
		{"no-at-sign", "", false},
		{"Bob <bob@example.com>", "", false},
		{"bob@", "", false},
		{"@example.com", "", false},
		{"bob@example", "", false},
		{"bob@@example.com", "", false},
		{"bob@exa mple.com", "", false},
		{strings.Repeat("a", 250) + "@example.com", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := NormalizeEmail(tt.in)
			if !tt.ok {
				require.ErrorIs(t, err, ErrInvalidEmail)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseRole(t *testing.T) {
	r, err := ParseRole("admin")
	require.NoError(t, err)
	assert.Equal(t, RoleAdmin, r)
	r, err = ParseRole("user")
	require.NoError(t, err)
	assert.Equal(t, RoleUser, r)
	for _, bad := range []string{"", "Admin", "root", "user "} {
		_, err := ParseRole(bad)
		require.ErrorIs(t, err, ErrInvalidRole, bad)
	}
}

func FuzzNormalizeUsername(f *testing.F) {
	for _, s := range []string{"alice", "Bob.Smith", "\u212Aate", "a b", "", "x\x00y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := NormalizeUsername(s)
		if err != nil {
			require.ErrorIs(t, err, ErrInvalidUsername)
			return
		}
		require.Equal(t, strings.ToLower(s), got)
		require.True(t, utf8.ValidString(got))
		again, err := NormalizeUsername(got)
		require.NoError(t, err)
		require.Equal(t, got, again, "idempotent")
	})
}

func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{"bob@example.com", " A@B.C ", "x", "<a@b.c>", "\"q\"@x.org"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := NormalizeEmail(s)
		if err != nil {
			require.ErrorIs(t, err, ErrInvalidEmail)
			return
		}
		again, err := NormalizeEmail(got)
		require.NoError(t, err)
		require.Equal(t, got, again, "idempotent")
	})
}
