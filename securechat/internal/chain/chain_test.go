package chain

import (
	"crypto/hmac"
	"crypto/sha256"
	"testing"
)

func TestAbsentChainYieldsNoKey(t *testing.T) {
	for name, c := range map[string]Chain{"zero value": {}, "all-zero key": New([KeySize]byte{})} {
		if c.Present() {
			t.Fatalf("%s: present", name)
		}
		if mk, ok := c.Next(); ok || mk != ([KeySize]byte{}) {
			t.Fatalf("%s: Next gave a key", name)
		}
		if _, ok := c.Key(); ok {
			t.Fatalf("%s: Key reported present", name)
		}
	}
}

func TestNextIsTheSpecChainStep(t *testing.T) {
	ck := [KeySize]byte{1, 2, 3}
	c := New(ck)
	for i := range 3 {
		mac := func(b byte) []byte {
			h := hmac.New(sha256.New, ck[:])
			h.Write([]byte{b})
			return h.Sum(nil)
		}
		wantMK, wantNext := mac(1), mac(2)
		mk, ok := c.Next()
		if !ok || !hmac.Equal(mk[:], wantMK) {
			t.Fatalf("step %d: message key mismatch", i)
		}
		copy(ck[:], wantNext)
		if got, _ := c.Key(); got != ck {
			t.Fatalf("step %d: chain key mismatch", i)
		}
	}
	c.Clear()
	if c.Present() {
		t.Fatal("cleared chain still present")
	}
}
