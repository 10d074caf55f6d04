package chatbench

import (
	"crypto/rand"
	"testing"

	"github.com/finkit/finkit/securechat"
)

// BenchmarkSetup is the native baseline of the browser's X3DH figure.
func BenchmarkSetup(b *testing.B) {
	initiator, err := securechat.GenerateIdentity(nil)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		b.StopTimer()
		r, err := NewResponder()
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, _, err := Setup(initiator, r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMessage1KiB is the native baseline of the browser's ratchet
// figure: one 1 KiB encrypt and decrypt in steady state.
func BenchmarkMessage1KiB(b *testing.B) {
	initiator, _ := securechat.GenerateIdentity(nil)
	r, err := NewResponder()
	if err != nil {
		b.Fatal(err)
	}
	alice, bob, err := Setup(initiator, r)
	if err != nil {
		b.Fatal(err)
	}
	msg := make([]byte, MessageSize)
	rand.Read(msg)
	if err := Exchange(bob, alice, msg); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(MessageSize)
	for b.Loop() {
		if err := Exchange(alice, bob, msg); err != nil {
			b.Fatal(err)
		}
	}
}

func TestMeasure(t *testing.T) {
	res, err := Measure(3, 20)
	if err != nil {
		t.Fatal(err)
	}
	if res.Setup <= 0 || res.Message <= 0 {
		t.Fatalf("no time measured: %+v", res)
	}
}
