// Package scram computes and checks PostgreSQL's SCRAM-SHA-256 password
// verifiers (RFC 5802/7677 as PostgreSQL stores them in pg_authid), so that
// pgrepl can give a role its password without the plaintext ever reaching
// the server or its log, and can tell whether a stored verifier belongs to
// the spec's password without reading any plaintext back.
package scram

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// DefaultIterations is PostgreSQL's default iteration count (scram_iterations).
const DefaultIterations = 4096

// saltLen is the salt length PostgreSQL uses (SCRAM_DEFAULT_SALT_LEN).
const saltLen = 16

// Verifier is a parsed "SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>".
type Verifier struct {
	Iterations int
	Salt       []byte
	StoredKey  []byte
	ServerKey  []byte
}

// String formats v as PostgreSQL stores it.
func (v Verifier) String() string {
	b := base64.StdEncoding
	return fmt.Sprintf("SCRAM-SHA-256$%d:%s$%s:%s", v.Iterations, b.EncodeToString(v.Salt),
		b.EncodeToString(v.StoredKey), b.EncodeToString(v.ServerKey))
}

// ErrNotSCRAM is returned by Parse for a stored password that is not a SCRAM
// verifier (an md5 hash, or nothing).
var ErrNotSCRAM = errors.New("not a SCRAM-SHA-256 verifier")

// Parse parses a stored SCRAM-SHA-256 verifier.
func Parse(s string) (Verifier, error) {
	rest, ok := strings.CutPrefix(s, "SCRAM-SHA-256$")
	if !ok {
		return Verifier{}, ErrNotSCRAM
	}
	params, keys, ok := strings.Cut(rest, "$")
	if !ok {
		return Verifier{}, fmt.Errorf("malformed SCRAM verifier: no keys")
	}
	iter, salt, ok := strings.Cut(params, ":")
	if !ok {
		return Verifier{}, fmt.Errorf("malformed SCRAM verifier: no salt")
	}
	stored, server, ok := strings.Cut(keys, ":")
	if !ok {
		return Verifier{}, fmt.Errorf("malformed SCRAM verifier: no server key")
	}
	var v Verifier
	var err error
	if v.Iterations, err = strconv.Atoi(iter); err != nil || v.Iterations < 1 {
		return Verifier{}, fmt.Errorf("malformed SCRAM verifier: iterations %q", iter)
	}
	b := base64.StdEncoding
	if v.Salt, err = b.DecodeString(salt); err != nil {
		return Verifier{}, fmt.Errorf("malformed SCRAM verifier: salt: %w", err)
	}
	if v.StoredKey, err = b.DecodeString(stored); err != nil || len(v.StoredKey) != sha256.Size {
		return Verifier{}, fmt.Errorf("malformed SCRAM verifier: stored key")
	}
	if v.ServerKey, err = b.DecodeString(server); err != nil || len(v.ServerKey) != sha256.Size {
		return Verifier{}, fmt.Errorf("malformed SCRAM verifier: server key")
	}
	return v, nil
}

// Compute returns the verifier of password with the given salt and
// iteration count, as PostgreSQL's scram_build_secret does.
func Compute(password string, salt []byte, iterations int) (Verifier, error) {
	salted, err := pbkdf2.Key(sha256.New, prep(password), salt, iterations, sha256.Size)
	if err != nil {
		return Verifier{}, fmt.Errorf("scram: %w", err)
	}
	clientKey := mac(salted, "Client Key")
	stored := sha256.Sum256(clientKey)
	return Verifier{
		Iterations: iterations,
		Salt:       append([]byte(nil), salt...),
		StoredKey:  stored[:],
		ServerKey:  mac(salted, "Server Key"),
	}, nil
}

// New returns the verifier of password with a fresh random salt from r
// (crypto/rand when nil) and iterations rounds.
func New(password string, iterations int, r io.Reader) (Verifier, error) {
	if r == nil {
		r = rand.Reader
	}
	salt := make([]byte, saltLen)
	if _, err := io.ReadFull(r, salt); err != nil {
		return Verifier{}, fmt.Errorf("scram: salt: %w", err)
	}
	return Compute(password, salt, iterations)
}

// Matches reports whether the stored verifier was made from password.
func Matches(stored, password string) (bool, error) {
	v, err := Parse(stored)
	if err != nil {
		return false, err
	}
	w, err := Compute(password, v.Salt, v.Iterations)
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(v.StoredKey, w.StoredKey) == 1 &&
		subtle.ConstantTimeCompare(v.ServerKey, w.ServerKey) == 1, nil
}

func mac(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}

// prep applies SASLprep (RFC 4013) the way PostgreSQL's pg_saslprep does:
// an ASCII password is used as is; otherwise non-ASCII spaces map to a space,
// "commonly mapped to nothing" characters are dropped and the result is
// NFKC-normalized. When the password is not valid UTF-8 or holds a
// prohibited character, PostgreSQL uses the raw bytes, and so does prep.
func prep(password string) string {
	ascii := true
	for i := 0; i < len(password); i++ {
		if password[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii || !utf8.ValidString(password) {
		return password
	}
	var b strings.Builder
	for _, r := range password {
		switch {
		case mappedToNothing(r):
			continue
		case r != ' ' && unicode.Is(unicode.Zs, r):
			b.WriteRune(' ')
		default:
			b.WriteRune(r)
		}
	}
	out := norm.NFKC.String(b.String())
	for _, r := range out {
		if prohibited(r) {
			return password
		}
	}
	return out
}

// mappedToNothing is RFC 3454 table B.1.
func mappedToNothing(r rune) bool {
	switch r {
	case 0x00AD, 0x034F, 0x1806, 0x180B, 0x180C, 0x180D, 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF:
		return true
	}
	return 0xFE00 <= r && r <= 0xFE0F
}

// prohibited covers RFC 4013's prohibited output: control characters,
// private use, non-characters, surrogates, and the tagging and
// display-changing characters of RFC 3454 tables C.2–C.9.
func prohibited(r rune) bool {
	switch {
	case unicode.Is(unicode.Cc, r), unicode.Is(unicode.Co, r), unicode.Is(unicode.Cs, r):
		return true
	case r >= 0xFDD0 && r <= 0xFDEF, r&0xFFFE == 0xFFFE:
		return true
	case r >= 0xFFF9 && r <= 0xFFFD, r >= 0x2FF0 && r <= 0x2FFB:
		return true
	case r == 0x0340 || r == 0x0341 || r == 0x200E || r == 0x200F:
		return true
	case r >= 0x202A && r <= 0x202E, r >= 0x206A && r <= 0x206F:
		return true
	case r == 0xE0001, r >= 0xE0020 && r <= 0xE007F:
		return true
	case r >= 0x2028 && r <= 0x2029, r >= 0x1D173 && r <= 0x1D17A:
		return true
	}
	return false
}
