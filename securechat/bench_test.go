//go:build !js

package securechat

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/nacl/secretbox"
)

// BenchmarkRatchet1KiB compares a steady-state Double Ratchet message (one
// symmetric-chain step, header-bound key derivation, secretbox) with a bare
// secretbox Seal+Open of the same 1 KiB.
func BenchmarkRatchet1KiB(b *testing.B) {
	msg := make([]byte, 1024)
	rand.Read(msg)
	b.Run("ratchet-encrypt+decrypt", func(b *testing.B) {
		alice, bob := pairSessions(b, nil)
		send(b, bob, alice, "reply") // steady state: no prekey header, no DH step
		b.SetBytes(int64(len(msg)))
		b.ReportAllocs()
		for b.Loop() {
			e, err := alice.Encrypt(msg)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := bob.Decrypt(e); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("secretbox-seal+open", func(b *testing.B) {
		var key [32]byte
		var nonce [24]byte
		rand.Read(key[:])
		b.SetBytes(int64(len(msg)))
		b.ReportAllocs()
		for b.Loop() {
			nonce[0]++
			c := secretbox.Seal(nil, msg, &nonce, &key)
			if _, ok := secretbox.Open(nil, c, &nonce, &key); !ok {
				b.Fatal("open")
			}
		}
	})
}

// BenchmarkRatchetVsSecretboxInterleaved runs both workloads alternately in
// one loop (10 messages each per iteration) so machine noise hits both
// equally, and reports each one's time per message and their ratio.
func BenchmarkRatchetVsSecretboxInterleaved(b *testing.B) {
	msg := make([]byte, 1024)
	rand.Read(msg)
	alice, bob := pairSessions(b, nil)
	send(b, bob, alice, "reply") // steady state: no prekey header
	var key [32]byte
	var nonce [24]byte
	rand.Read(key[:])
	var tr, ts time.Duration
	n := 0
	for b.Loop() {
		t0 := time.Now()
		for range 10 {
			e, err := alice.Encrypt(msg)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := bob.Decrypt(e); err != nil {
				b.Fatal(err)
			}
		}
		t1 := time.Now()
		for range 10 {
			nonce[0]++
			c := secretbox.Seal(nil, msg, &nonce, &key)
			if _, ok := secretbox.Open(nil, c, &nonce, &key); !ok {
				b.Fatal("open")
			}
		}
		t2 := time.Now()
		tr += t1.Sub(t0)
		ts += t2.Sub(t1)
		n += 10
	}
	b.ReportMetric(float64(tr.Nanoseconds())/float64(n), "ratchet-ns/msg")
	b.ReportMetric(float64(ts.Nanoseconds())/float64(n), "secretbox-ns/msg")
	b.ReportMetric(float64(tr)/float64(ts), "ratio")
}

// BenchmarkRatchetDHStep measures a message that carries a new ratchet key:
// ping-pong, so every decrypt performs a DH ratchet step (two X25519 plus a
// key generation) before the symmetric work.
func BenchmarkRatchetDHStep(b *testing.B) {
	msg := make([]byte, 1024)
	alice, bob := pairSessions(b, nil)
	b.ReportAllocs()
	from, to := bob, alice
	for b.Loop() {
		e, err := from.Encrypt(msg)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := to.Decrypt(e); err != nil {
			b.Fatal(err)
		}
		from, to = to, from
	}
}

// BenchmarkX3DH measures session setup: Initiate + first Encrypt + Accept.
func BenchmarkX3DH(b *testing.B) {
	a, bb := newParty(b, 0), newParty(b, 0)
	bundle := bundleOf(b, bb, false)
	b.ReportAllocs()
	for b.Loop() {
		s, err := Initiate(a.id, bundle, nil)
		if err != nil {
			b.Fatal(err)
		}
		e, err := s.Encrypt([]byte("hi"))
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := Accept(bb.id, bb.prekeys, e, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRelayThroughput connects many Clients to one relay on loopback
// and has each send to random peers (among 3 it has sessions with, set up
// before the timer starts). It reports delivered messages per second and
// the p50/p99 latency from Send to arrival in the recipient's Messages.
func BenchmarkRelayThroughput(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("clients=%d", n), func(b *testing.B) { benchRelay(b, n) })
	}
}

func benchRelay(b *testing.B, n int) {
	tr := startRelay(b, RelayOptions{RateLimit: 1e6, RateBurst: 1e6, MailboxLimit: 1 << 20})
	clients := make([]*Client, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i := range clients {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			c, err := NewClient(ClientOptions{URL: tr.url, Identity: newID(b), Logger: quietLogger(), OneTimePrekeys: 4, Inbox: 4096})
			if err != nil {
				b.Error(err)
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			if err := c.WaitConnected(ctx); err != nil {
				b.Error(err)
			}
			clients[i] = c
		})
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	var received atomic.Int64
	var latMu sync.Mutex
	var lats []time.Duration
	var drains sync.WaitGroup
	for _, c := range clients {
		drains.Go(func() {
			for m := range c.Messages() {
				if len(m.Body) >= 8 {
					sent := int64(binary.BigEndian.Uint64(m.Body))
					if sent > 0 {
						d := time.Duration(time.Now().UnixNano() - sent)
						latMu.Lock()
						lats = append(lats, d)
						latMu.Unlock()
					}
				}
				received.Add(1)
			}
		})
	}
	peers := make([][]PeerID, n)
	for i := range clients {
		for k := 1; k <= 3; k++ {
			peers[i] = append(peers[i], clients[(i+k*7+1)%n].ID())
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	body := make([]byte, 256)
	// Warm-up: create the sessions (X3DH) outside the measurement.
	for i, c := range clients {
		wg.Go(func() {
			for _, p := range peers[i] {
				if err := c.Send(ctx, p, body[:8]); err != nil {
					b.Error(err)
				}
			}
		})
	}
	wg.Wait()
	waitFor := func(want int64) {
		for received.Load() < want {
			time.Sleep(2 * time.Millisecond)
		}
	}
	waitFor(int64(3 * n))
	latMu.Lock()
	lats = lats[:0]
	latMu.Unlock()
	base := received.Load()

	b.ResetTimer()
	start := time.Now()
	per := (b.N + n - 1) / n
	total := int64(per * n)
	for i, c := range clients {
		wg.Go(func() {
			rng := mrand.New(mrand.NewPCG(uint64(i), 7))
			msg := make([]byte, 256)
			for range per {
				binary.BigEndian.PutUint64(msg, uint64(time.Now().UnixNano()))
				if err := c.Send(ctx, peers[i][rng.IntN(3)], msg); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	waitFor(base + total)
	elapsed := time.Since(start)
	b.StopTimer()
	latMu.Lock()
	slices.Sort(lats)
	p50, p99 := lats[len(lats)*50/100], lats[min(len(lats)-1, len(lats)*99/100)]
	latMu.Unlock()
	b.ReportMetric(float64(total)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
	for _, c := range clients {
		c.Close()
	}
	drains.Wait()
}
