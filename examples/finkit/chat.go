package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/finkit/finkit/securechat"
)

// chatPassphraseEnv names the environment variable holding the key file
// passphrase. keygen encrypts the key file with it (argon2id + secretbox)
// and refuses to run without it unless --unencrypted is given; the other
// commands use it to open the file.
const chatPassphraseEnv = "FINKIT_CHAT_PASSPHRASE"

// runChat is end-to-end encrypted chat over a securechat relay:
//
//	finkit chat keygen --out KEYFILE [--unencrypted] [--force] [--json] [--kdf-time N] [--kdf-memory-mib N]
//	finkit chat fingerprint --key KEYFILE --peer PEERID [--json]
//	finkit chat --relay wss://HOST/chat/ws --key KEYFILE --to PEERID [--state FILE] [--allow-insecure-ws]
//
// In the last form every line typed on stdin is sent to PEERID and every
// received message is printed with its time and sender; it runs until stdin
// ends or the process is interrupted. Sessions and prekeys are kept in the
// state file (KEYFILE.state by default), encrypted to the identity itself.
func runChat(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "keygen":
			return runChatKeygen(e, args[1:])
		case "fingerprint":
			return runChatFingerprint(e, args[1:])
		}
	}
	fs := newFlagSet("chat", e)
	relay := fs.String("relay", "", "relay WebSocket URL: wss://HOST/chat/ws, or ws://localhost:8080/chat/ws")
	insecure := fs.Bool("allow-insecure-ws", false, "allow a ws:// relay URL to a host other than loopback (unencrypted transport)")
	keyPath := fs.String("key", "", "identity key file (from finkit chat keygen)")
	to := fs.String("to", "", "peer id to talk to")
	statePath := fs.String("state", "", "session state file (default KEYFILE.state)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected argument %q (subcommands: keygen, fingerprint)", fs.Arg(0))
	}
	if *relay == "" || *keyPath == "" || *to == "" {
		return usageErrorf("--relay, --key and --to are required")
	}
	peer, err := securechat.ParsePeerID(*to)
	if err != nil {
		return fmt.Errorf("%w: --to: %v", errUsage, err)
	}
	id, err := loadChatKey(*keyPath)
	if err != nil {
		return err
	}
	if *statePath == "" {
		*statePath = *keyPath + ".state"
	}
	state, err := loadChatState(id, *statePath)
	if err != nil {
		return err
	}
	// The state is written ahead: the client saves it (through this hook)
	// before each envelope leaves the process and before each delivery is
	// acknowledged, so a crash while waiting for the relay cannot roll the
	// sending chain back behind a message already on the wire.
	client, err := securechat.NewClient(securechat.ClientOptions{URL: *relay, AllowInsecureTransport: *insecure, Identity: id, State: state, Logger: e.log,
		SaveState: func(_ context.Context, st []byte) error { return saveChatState(id, *statePath, st) }})
	if errors.Is(err, securechat.ErrInsecureTransport) {
		return fmt.Errorf("%w: --relay: %v (use wss://, or pass --allow-insecure-ws)", errUsage, err)
	}
	if err != nil {
		return err
	}
	saveState := func() error {
		st, err := client.MarshalState()
		if err != nil {
			return err
		}
		return saveChatState(id, *statePath, st)
	}
	number, err := securechat.SafetyNumberOf(id.ID(), peer)
	if err != nil {
		client.Close()
		return err
	}
	fmt.Fprintf(e.stderr, "you are %s\ntalking to %s\nsafety number: %s\n(compare it with your peer out of band)\n", id.ID(), peer, number)

	var out sync.Mutex
	var printers sync.WaitGroup
	printers.Go(func() {
		for m := range client.Messages() {
			out.Lock()
			from := string(m.From)
			if m.Group != "" {
				from += " in " + m.Group
			}
			fmt.Fprintf(e.stdout, "%s %s: %s\n", m.Time.UTC().Format(time.RFC3339), from, sanitizeLine(string(m.Body)))
			out.Unlock()
		}
	})

	sendErr := func() error {
		sc := bufio.NewScanner(e.stdin)
		sc.Buffer(make([]byte, 64<<10), securechat.MaxPlaintextSize)
		for sc.Scan() {
			line := strings.TrimRight(sc.Text(), "\r")
			if line == "" {
				continue
			}
			if err := client.Send(ctx, peer, []byte(line)); err != nil {
				return err
			}
		}
		return sc.Err()
	}()
	if errors.Is(sendErr, context.Canceled) {
		sendErr = nil
	}
	// Let deliveries already on the wire arrive before quitting.
	drainCtx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	<-drainCtx.Done()
	cancel()
	// Close first, then save: everything acknowledged to the relay is in
	// the saved state, nothing is received after it.
	client.Close()
	saveErr := saveState()
	printers.Wait()
	return errors.Join(sendErr, saveErr)
}

// sanitizeLine keeps a received message from moving the cursor or
// injecting terminal escape sequences.
func sanitizeLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return '?'
		}
		return r
	}, s)
}

func runChatKeygen(e *env, args []string) error {
	flags := newFlagSet("chat keygen", e)
	outPath := flags.String("out", "", "where to write the new key file")
	force := flags.Bool("force", false, "overwrite an existing key file")
	unencrypted := flags.Bool("unencrypted", false, "write the key file without encryption (only where the disk is protected otherwise)")
	asJSON := flags.Bool("json", false, "print JSON")
	kdfTime := flags.Uint("kdf-time", uint(securechat.DefaultKDFParams().Time), "argon2id passes for an encrypted key file")
	kdfMem := flags.Uint("kdf-memory-mib", uint(securechat.DefaultKDFParams().MemoryKiB/1024), "argon2id memory in MiB for an encrypted key file")
	if err := parseFlags(flags, args); err != nil {
		return err
	}
	if *outPath == "" || flags.NArg() > 0 {
		return usageErrorf("keygen needs --out KEYFILE and no arguments")
	}
	if *kdfTime < 1 || *kdfTime > securechat.MaxKDFTime || *kdfMem < 1 || *kdfMem > securechat.MaxKDFMemoryKiB/1024 {
		return usageErrorf("--kdf-time must be 1..%d and --kdf-memory-mib 1..%d", securechat.MaxKDFTime, securechat.MaxKDFMemoryKiB/1024)
	}
	params := securechat.KDFParams{Time: uint32(*kdfTime), MemoryKiB: uint32(*kdfMem) * 1024, Threads: securechat.DefaultKDFParams().Threads}
	pass := os.Getenv(chatPassphraseEnv)
	switch {
	case pass == "" && !*unencrypted:
		return usageErrorf("set %s to encrypt the key file, or pass --unencrypted to write it in the clear", chatPassphraseEnv)
	case pass != "" && *unencrypted:
		return usageErrorf("--unencrypted contradicts %s being set", chatPassphraseEnv)
	}
	id, err := securechat.GenerateIdentity(nil)
	if err != nil {
		return err
	}
	var data []byte
	if *unencrypted {
		data = id.MarshalKeyFileUnencrypted()
	} else if data, err = id.MarshalKeyFile([]byte(pass), &params); err != nil {
		if errors.Is(err, securechat.ErrMalformed) {
			return fmt.Errorf("%w: --kdf-time/--kdf-memory-mib: %v", errUsage, err)
		}
		return err
	}
	mode := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if *force {
		mode = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(*outPath, mode, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s exists; use --force to overwrite: %w", *outPath, err)
		}
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(e.stdout, map[string]any{"peer_id": id.ID(), "key_file": *outPath, "encrypted": pass != ""})
	}
	enc := "UNENCRYPTED (set " + chatPassphraseEnv + " and drop --unencrypted to encrypt)"
	if pass != "" {
		enc = "encrypted with your passphrase"
	}
	_, err = fmt.Fprintf(e.stdout, "peer id: %s\nkey file: %s (%s)\n", id.ID(), *outPath, enc)
	return err
}

func runChatFingerprint(e *env, args []string) error {
	fs := newFlagSet("chat fingerprint", e)
	keyPath := fs.String("key", "", "your identity key file")
	peerFlag := fs.String("peer", "", "the peer id to verify")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *keyPath == "" || *peerFlag == "" || fs.NArg() > 0 {
		return usageErrorf("fingerprint needs --key KEYFILE and --peer PEERID")
	}
	peer, err := securechat.ParsePeerID(*peerFlag)
	if err != nil {
		return fmt.Errorf("%w: --peer: %v", errUsage, err)
	}
	id, err := loadChatKey(*keyPath)
	if err != nil {
		return err
	}
	number, err := securechat.SafetyNumberOf(id.ID(), peer)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(e.stdout, map[string]any{"self": id.ID(), "peer": peer, "safety_number": number})
	}
	_, err = fmt.Fprintf(e.stdout, "%s\n", number)
	return err
}

func loadChatKey(path string) (*securechat.Identity, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pass := os.Getenv(chatPassphraseEnv)
	if securechat.KeyFileEncrypted(data) && pass == "" {
		return nil, fmt.Errorf("%s: %w (set %s)", path, securechat.ErrPassphraseRequired, chatPassphraseEnv)
	}
	id, err := securechat.ParseKeyFile(data, []byte(pass))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return id, nil
}

// loadChatState reads the state file, sealed with a box from the identity
// to itself; a missing file means a fresh start.
func loadChatState(id *securechat.Identity, path string) ([]byte, error) {
	sealed, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	st, err := id.OpenFrom(id.Public(), sealed)
	if err != nil {
		return nil, fmt.Errorf("state file %s (not made with this key?): %w", path, err)
	}
	return st, nil
}

func saveChatState(id *securechat.Identity, path string, st []byte) error {
	sealed, err := id.SealTo(id.Public(), st)
	if err != nil {
		return err
	}
	// Write, flush to disk, then rename: the file is always either the old
	// state or the new one, and the new one survives a crash once saved.
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(sealed); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
