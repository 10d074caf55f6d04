package auth

import (
	"bufio"
	_ "embed"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// MaxPasswordBytes is the hard upper bound on a password's size in bytes,
// whatever the policy says, to bound hashing work.
const MaxPasswordBytes = 1024

// Policy limits, following NIST SP 800-63B.
const (
	// DefaultMinLength is the default minimum length in characters.
	DefaultMinLength = 15
	// FloorMinLength is the lowest MinLength a Policy may set.
	FloorMinLength = 8
	// DefaultMaxLength is the default maximum length in characters.
	DefaultMaxLength = 256
	// FloorMaxLength is the lowest MaxLength a Policy may set.
	FloorMaxLength = 64
)

//go:embed common-passwords-10k.txt
var commonPasswordsFile string

// Policy is a password policy after NIST SP 800-63B: a length range counted
// in Unicode code points after NFKC normalization, no composition rules,
// and a blocklist. Every Unicode character is allowed.
type Policy struct {
	// MinLength is the minimum number of characters; 0 means
	// DefaultMinLength. Values below FloorMinLength are rejected.
	MinLength int
	// MaxLength is the maximum number of characters; 0 means
	// DefaultMaxLength. Values below FloorMaxLength are rejected.
	MaxLength int
	// Blocklist holds extra rejected passwords (compared case-insensitively)
	// on top of the embedded 10,000 most common passwords.
	Blocklist []string
}

// passwordPolicy is a validated Policy with its blocklist built.
type passwordPolicy struct {
	min, max int
	blocked  map[string]struct{}
}

func (p Policy) build() (*passwordPolicy, error) {
	pp := &passwordPolicy{min: p.MinLength, max: p.MaxLength}
	if pp.min == 0 {
		pp.min = DefaultMinLength
	}
	if pp.max == 0 {
		pp.max = DefaultMaxLength
	}
	if pp.min < FloorMinLength {
		return nil, fmt.Errorf("auth: policy MinLength %d below %d", pp.min, FloorMinLength)
	}
	if pp.max < FloorMaxLength {
		return nil, fmt.Errorf("auth: policy MaxLength %d below %d", pp.max, FloorMaxLength)
	}
	if pp.max < pp.min {
		return nil, fmt.Errorf("auth: policy MaxLength %d below MinLength %d", pp.max, pp.min)
	}
	pp.blocked = make(map[string]struct{}, 10000+len(p.Blocklist))
	sc := bufio.NewScanner(strings.NewReader(commonPasswordsFile))
	for sc.Scan() {
		if w := strings.TrimSpace(sc.Text()); w != "" {
			pp.blocked[strings.ToLower(w)] = struct{}{}
		}
	}
	for _, w := range p.Blocklist {
		pp.blocked[strings.ToLower(NormalizePassword(w))] = struct{}{}
	}
	return pp, nil
}

// NormalizePassword returns password in Unicode normalization form NFKC,
// the form that is checked and hashed.
func NormalizePassword(password string) string { return norm.NFKC.String(password) }

// normalize checks the size and encoding of a raw password and returns its
// NFKC form. Errors wrap ErrWeakPassword and the rule.
func normalize(password string) (string, error) {
	if len(password) > MaxPasswordBytes {
		return "", weakPassword(ErrPasswordTooLong, "at most %d bytes", MaxPasswordBytes)
	}
	if !utf8.ValidString(password) {
		return "", weakPassword(ErrPasswordInvalidUTF8, "use valid UTF-8 text")
	}
	n := NormalizePassword(password)
	if len(n) > MaxPasswordBytes {
		return "", weakPassword(ErrPasswordTooLong, "at most %d bytes after normalization", MaxPasswordBytes)
	}
	return n, nil
}

func weakPassword(rule error, format string, args ...any) error {
	return fmt.Errorf("%w: %w: %s", ErrWeakPassword, rule, fmt.Sprintf(format, args...))
}

// check validates a raw password for username and returns its NFKC form.
func (pp *passwordPolicy) check(password, username string) (string, error) {
	password, err := normalize(password)
	if err != nil {
		return "", err
	}
	n := utf8.RuneCountInString(password)
	if n < pp.min {
		return "", weakPassword(ErrPasswordTooShort, "at least %d characters, got %d", pp.min, n)
	}
	if n > pp.max {
		return "", weakPassword(ErrPasswordTooLong, "at most %d characters, got %d", pp.max, n)
	}
	first, _ := utf8.DecodeRuneInString(password)
	if strings.Count(password, string(first)) == n {
		return "", weakPassword(ErrPasswordRepetitive, "the same character %d times", n)
	}
	lower := strings.ToLower(password)
	if _, ok := pp.blocked[lower]; ok {
		return "", weakPassword(ErrPasswordCommon, "it is on a list of commonly used passwords")
	}
	// Spaces and punctuation do not make a weak password strong:
	// "pass-word-1234-5678" is a common one spelt out, "password password
	// password" one word repeated.
	core := lettersAndDigits(lower)
	if _, ok := pp.blocked[core]; ok && core != "" {
		return "", weakPassword(ErrPasswordCommon, "it is a commonly used password with spaces or punctuation added")
	}
	if unit, n := repeatedUnit(core); n > 1 {
		return "", weakPassword(ErrPasswordRepetitive, "%q repeated %d times", unit, n)
	}
	if username != "" && strings.Contains(lower, strings.ToLower(username)) {
		return "", weakPassword(ErrPasswordContainsUsername, "choose one that does not include the username")
	}
	return password, nil
}

// lettersAndDigits returns s without the runes that are neither letters
// nor digits.
func lettersAndDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return r
		}
		return -1
	}, s)
}

// repeatedUnit returns the shortest unit that s is n > 1 copies of, or
// n = 1 when s is no repetition.
func repeatedUnit(s string) (unit string, n int) {
	r := []rune(s)
	for p := 1; p <= len(r)/2; p++ {
		if len(r)%p != 0 {
			continue
		}
		u := string(r[:p])
		if strings.Repeat(u, len(r)/p) == s {
			return u, len(r) / p
		}
	}
	return s, 1
}

// CheckPassword validates password for the user username under policy p
// and returns an error wrapping ErrWeakPassword and the specific rule
// (ErrPasswordTooShort, ErrPasswordCommon, …) if it fails. Service checks
// passwords itself; this is for forms that want to check early.
func (p Policy) CheckPassword(password, username string) error {
	pp, err := p.build()
	if err != nil {
		return err
	}
	_, err = pp.check(password, username)
	return err
}
