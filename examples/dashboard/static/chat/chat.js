// The dashboard's end-to-end encrypted chat. Encryption is done by the Go
// securechat client compiled to WebAssembly (chat/client.wasm), run in a
// Web Worker (chat/worker.js) behind window.finkitChat; this file keeps
// its keys, state and history
// in IndexedDB, encrypted with AES-GCM under a non-extractable WebCrypto
// key, owns the session through a Web Lock so that two tabs never fork the
// ratchet state, and draws the page. The server sees public keys and
// ciphertext only.
'use strict';
(() => {
  const app = document.getElementById('chat-app');
  if (!app) return;
  const userID = app.dataset.user;
  const username = app.dataset.username;
  const $ = (id) => document.getElementById(id);
  const LOCK = 'finkit-chat:' + userID;
  const MARK = '\u001e'; // starts a structured body between browser clients
  const enc = new TextEncoder();
  const dec = new TextDecoder();

  const S = {
    db: null, wrapKey: null, historyKey: null, epoch: 0, me: null, host: '',
    contacts: new Map(), // user_id -> {user_id, username, peer, public, verified, changed}
    convs: new Map(),    // conversation key -> {key, title, peer, userID, messages: [], unread}
    open: null, running: false, moduleReady: null, rejected: 0,
    timing: {},
  };
  window.finkitChatTiming = S.timing;

  // ---------- storage: IndexedDB, everything sealed with AES-GCM ----------

  function req(r) {
    return new Promise((resolve, reject) => { r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error); });
  }
  function done(tx) {
    return new Promise((resolve, reject) => { tx.oncomplete = resolve; tx.onabort = tx.onerror = () => reject(tx.error || new Error('storage transaction aborted')); });
  }
  function openDB() {
    const r = indexedDB.open('finkit-chat-' + userID, 1);
    r.onupgradeneeded = () => {
      r.result.createObjectStore('kv');
      r.result.createObjectStore('messages', { keyPath: 'id' });
    };
    return req(r);
  }
  async function kvGet(key) {
    return req(S.db.transaction('kv').objectStore('kv').get(key));
  }
  async function kvPut(key, value) {
    const tx = S.db.transaction('kv', 'readwrite');
    tx.objectStore('kv').put(value, key);
    return done(tx);
  }
  // The wrapping key is generated non-extractable: script can use it but
  // never read it, and IndexedDB stores it as an opaque CryptoKey.
  async function wrappingKey() {
    let k = await kvGet('wrapKey');
    if (!k) {
      k = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
      await kvPut('wrapKey', k);
    }
    return k;
  }
  async function seal(key, bytes, label) {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const ct = await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: enc.encode(label) }, key, bytes);
    return { iv, ct: new Uint8Array(ct) };
  }
  async function unseal(key, rec, label) {
    const pt = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: rec.iv, additionalData: enc.encode(label) }, key, rec.ct);
    return new Uint8Array(pt);
  }
  async function sealJSON(key, obj, label) { return seal(key, enc.encode(JSON.stringify(obj)), label); }
  async function unsealJSON(key, rec, label) { return JSON.parse(dec.decode(await unseal(key, rec, label))); }

  // The session's state is written under the owner epoch: a tab that lost
  // the lock finds a newer epoch in the same transaction and its write is
  // refused, so a stale tab can never overwrite the new owner's state.
  async function claimEpoch() {
    const tx = S.db.transaction('kv', 'readwrite');
    const store = tx.objectStore('kv');
    const cur = (await req(store.get('epoch'))) || 0;
    S.epoch = cur + 1;
    store.put(S.epoch, 'epoch');
    await done(tx);
  }
  async function saveState(sealed) {
    const rec = await seal(S.wrapKey, sealed, 'state');
    const tx = S.db.transaction('kv', 'readwrite');
    const store = tx.objectStore('kv');
    const cur = await req(store.get('epoch'));
    if (cur !== S.epoch) {
      tx.abort();
      throw new Error('the chat session moved to another tab');
    }
    store.put(rec, 'state');
    await done(tx);
  }
  async function saveContacts() {
    const obj = {};
    for (const [k, c] of S.contacts) obj[k] = { peer: c.peer, public: c.public, verified: !!c.verified, username: c.username };
    await kvPut('contacts', await sealJSON(S.wrapKey, obj, 'contacts'));
  }
  async function putMessage(m) {
    const rec = await sealJSON(S.historyKey, m, 'message');
    const tx = S.db.transaction('messages', 'readwrite');
    tx.objectStore('messages').put({ id: m.id, iv: rec.iv, ct: rec.ct });
    return done(tx);
  }
  async function loadHistory() {
    const rows = await req(S.db.transaction('messages').objectStore('messages').getAll());
    const out = [];
    for (const r of rows) {
      try { out.push(await unsealJSON(S.historyKey, r, 'message')); } catch (e) { /* written under another key */ }
    }
    out.sort((a, b) => a.time - b.time || (a.seq || 0) - (b.seq || 0));
    return out;
  }

  // ---------- the WebAssembly module, in a Web Worker ----------

  // The module runs in chat/worker.js, so its work (argon2id, X3DH, the
  // ratchet) never blocks this page. window.finkitChat is a proxy with
  // the module's methods, each returning a Promise; the module's
  // callbacks (save the state, store a message, report an event) come
  // back as messages and are answered once their Promise settles.
  const worker = { w: null, next: 1, calls: new Map(), handlers: {} };
  function callModule(method, args) {
    return new Promise((resolve, reject) => {
      const id = worker.next++;
      worker.calls.set(id, { resolve, reject });
      worker.w.postMessage({ id, method, args });
    });
  }
  function fromWorker(ev) {
    const m = ev.data || {};
    if (m.cb) {
      const h = worker.handlers[m.cb];
      if (m.cb === 'event') { if (h) h(m.payload); return; }
      Promise.resolve()
        .then(() => { if (!h) throw new Error('the chat client is not started'); return h(m.payload); })
        .then(() => worker.w.postMessage({ reply: m.id, value: null }),
          (e) => worker.w.postMessage({ reply: m.id, error: String((e && e.message) || e) }));
      return;
    }
    const c = worker.calls.get(m.id);
    if (!c) return;
    worker.calls.delete(m.id);
    if ('error' in m) c.reject(new Error(m.error)); else c.resolve(m.value);
  }
  const methods = ['generate', 'protect', 'isProtected', 'send', 'peerOf', 'safetyNumber', 'linkProof', 'backup', 'restore', 'stop', 'bench'];

  function loadModule() {
    if (S.moduleReady) return S.moduleReady;
    S.moduleReady = (async () => {
      const t0 = performance.now();
      worker.w = new Worker('/chat/worker.js');
      worker.w.onmessage = fromWorker;
      worker.w.onerror = (e) => fatal(new Error('the chat worker failed: ' + (e.message || 'could not start')));
      const api = {};
      for (const name of methods) api[name] = (...args) => callModule(name, args);
      // start's callbacks stay here; the worker calls them by name.
      api.start = (opts) => {
        const { save, onMessage, onEvent, ...rest } = opts;
        worker.handlers = { save, message: onMessage, event: onEvent };
        return callModule('start', [rest]);
      };
      const t = await callModule('load', []);
      S.timing.fetchCompileMs = t.fetchCompileMs;
      S.timing.moduleLoadMs = t.loadMs;
      S.timing.loadMs = performance.now() - t0;
      window.finkitChat = api;
      return api;
    })();
    return S.moduleReady;
  }

  // ---------- the session lock ----------

  function acquire(steal) {
    const opts = steal ? { steal: true } : { ifAvailable: true };
    navigator.locks.request(LOCK, opts, (lock) => {
      if (!lock) { show('elsewhere'); return; }
      return holdSession(); // the lock is held until this settles
    }).catch((err) => {
      if (err && err.name === 'AbortError') takenOver();
      else fatal(err);
    });
  }
  async function takenOver() {
    S.running = false;
    if (window.finkitChat) { try { await window.finkitChat.stop(); } catch (e) { /* already stopped */ } }
    $('chat-elsewhere-title').textContent = 'Chat moved to another tab';
    $('chat-elsewhere-text').textContent = 'Another tab took over your chat session. Move it back here to go on in this tab.';
    setConn('Paused', 'off');
    show('elsewhere');
  }
  $('chat-takeover').addEventListener('click', () => { show('loading'); acquire(true); });

  // holdSession runs while this tab owns the lock; it settles only when
  // the page goes away (or the lock is stolen, which rejects the request).
  async function holdSession() {
    S.db = S.db || await openDB();
    await claimEpoch();
    S.wrapKey = await wrappingKey();
    if (navigator.storage && navigator.storage.persist) {
      navigator.storage.persist().then((ok) => { app.dataset.persisted = String(ok); });
    }
    const chat = await loadModule();
    const ident = await kvGet('identity');
    if (!ident) {
      show('setup');
    } else {
      const keyFile = await unseal(S.wrapKey, ident, 'identity');
      if (await chat.isProtected(keyFile)) {
        show('unlock');
        $('chat-unlock-pass').focus({ preventScroll: true });
        S.pendingKey = keyFile;
      } else {
        await startWith(keyFile, '');
      }
    }
    return new Promise(() => {}); // keep the lock
  }

  // ---------- setup, unlock, backup ----------

  $('chat-setup-create').addEventListener('click', () => guard('chat-setup-error', async () => {
    const chat = await loadModule();
    const pass = $('chat-setup-pass').value;
    const g = await chat.generate();
    const keyFile = pass ? await chat.protect(g.keyFile, '', pass) : g.keyFile;
    await kvPut('identity', await seal(S.wrapKey, keyFile, 'identity'));
    await kvPut('state', null);
    await startWith(keyFile, pass);
  }));
  $('chat-restore-go').addEventListener('click', () => guard('chat-setup-error', async () => {
    const chat = await loadModule();
    const f = $('chat-restore-file').files[0];
    if (!f) throw new Error('Choose the backup file first.');
    const pass = $('chat-restore-pass').value;
    const r = await chat.restore(await f.text(), pass);
    const keyFile = await chat.protect(r.keyFile, '', $('chat-setup-pass').value);
    await kvPut('identity', await seal(S.wrapKey, keyFile, 'identity'));
    await kvPut('state', r.state ? await seal(S.wrapKey, r.state, 'state') : null);
    await startWith(keyFile, $('chat-setup-pass').value);
  }));
  $('chat-unlock-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    guard('chat-unlock-error', async () => {
      await startWith(S.pendingKey, $('chat-unlock-pass').value);
      S.pendingKey = null;
    });
  });
  $('chat-backup-open').addEventListener('click', () => { $('chat-backup').hidden = false; $('chat-backup-pass').focus(); });
  $('chat-backup-close').addEventListener('click', () => { $('chat-backup').hidden = true; });
  $('chat-backup-go').addEventListener('click', () => guard('chat-backup-error', async () => {
    const pass = $('chat-backup-pass').value;
    if (pass.length < 8) throw new Error('Use a passphrase of at least 8 characters.');
    $('chat-backup-go').disabled = true;
    try {
      const text = await window.finkitChat.backup(pass);
      const a = document.createElement('a');
      a.href = URL.createObjectURL(new Blob([text], { type: 'text/plain' }));
      a.download = 'finkit-chat-' + username + '.key';
      document.body.appendChild(a);
      a.click();
      a.remove();
      $('chat-backup').hidden = true;
      notice('Backup downloaded. Keep it and its passphrase safe.');
    } finally { $('chat-backup-go').disabled = false; }
  }));

  async function guard(errID, fn) {
    const el = $(errID);
    el.hidden = true;
    try { await fn(); } catch (e) {
      el.textContent = friendly(e);
      el.hidden = false;
    }
  }
  function friendly(e) {
    const m = String((e && e.message) || e);
    if (/passphrase|secretbox|decrypt|authentic/i.test(m)) return 'That passphrase does not open this key.';
    if (/not a finkit chat backup|PEM|key file/i.test(m)) return 'This file is not a finkit chat key backup.';
    return m.replace(/^securechat: /, '');
  }

  // ---------- running the client ----------

  async function startWith(keyFile, pass) {
    const chat = await loadModule();
    const st = await kvGet('state');
    const state = st ? await unseal(S.wrapKey, st, 'state') : null;
    const secure = location.protocol === 'https:';
    const t0 = performance.now();
    let setReady;
    const ready = new Promise((resolve) => { setReady = resolve; });
    S.inbox = Promise.resolve();
    const r = await chat.start({
      keyFile, passphrase: pass, state,
      url: (secure ? 'wss://' : 'ws://') + location.host + '/chat/ws',
      // A page served over plain http already arrived unprotected, so a
      // ws:// relay on the same host adds nothing an attacker lacks.
      allowInsecure: !secure,
      save: (sealed) => saveState(sealed),
      // Messages are handled one at a time, once history and contacts are
      // loaded (the client may deliver before start resolves). The client
      // acknowledges a message to the relay only after this Promise
      // resolves, that is once it is stored; a failure is retried.
      onMessage: (m) => {
        const stored = S.inbox.then(() => ready).then(() => received(m));
        S.inbox = stored.catch(() => {});
        return stored.catch((e) => {
          notice('Could not store a message (will retry): ' + friendly(e), true);
          throw e;
        });
      },
      onEvent: event,
    });
    S.timing.startMs = performance.now() - t0;
    S.running = true;
    S.me = r.id;
    S.historyKey = await crypto.subtle.importKey('raw', r.historyKey, 'AES-GCM', false, ['encrypt', 'decrypt']);
    $('chat-my-id').textContent = r.id;
    $('chat-my-id').dataset.peer = r.id;
    for (const el of document.querySelectorAll('.chat-relay-url')) el.textContent = (secure ? 'wss://' : 'ws://') + location.host + '/chat/ws';
    await loadContactsLocal();
    S.convs.clear();
    for (const m of await loadHistory()) addToConv(m);
    setReady();
    await refreshDirectory(r);
    show('ready');
    renderContacts();
    if (S.open && S.convs.has(S.open)) openConv(S.open);
    if (!S.poll) S.poll = setInterval(() => { if (S.running) refreshDirectory(null).catch(() => {}); }, 30000);
  }

  function event(ev) {
    if (ev.msg === 'connected') { setConn('Connected', 'live'); return; }
    if (/message dropped|undecodable envelope|bad payload/.test(ev.msg)) {
      S.rejected++;
      $('chat-notices').dataset.rejected = String(S.rejected);
      notice('A message could not be authenticated and was rejected. If this repeats, someone may be tampering with the connection.', true);
      return;
    }
    console.warn('chat:', ev.msg, ev.detail);
  }

  async function api(method, path, body) {
    const r = await fetch(path, {
      method, credentials: 'same-origin',
      headers: body ? { 'Content-Type': 'application/json' } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    const data = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(data.error || ('the server answered ' + r.status));
    return data;
  }

  async function loadContactsLocal() {
    S.contacts.clear();
    const rec = await kvGet('contacts');
    if (!rec) return;
    const obj = await unsealJSON(S.wrapKey, rec, 'contacts');
    for (const [k, c] of Object.entries(obj)) S.contacts.set(k, { user_id: k, ...c });
  }

  // refreshDirectory publishes our public key when the server does not
  // have it and compares every contact's published key with the one we
  // pinned when we first saw it.
  async function refreshDirectory(started) {
    const d = await api('GET', '/api/chat/directory');
    S.host = d.host;
    if (started && d.me.peer_id !== started.id) {
      const proof = await window.finkitChat.linkProof(d.host, userID);
      await api('PUT', '/api/chat/identity', { public: started.public, proof });
    }
    let changed = false;
    for (const c of d.contacts) {
      let peer;
      try { peer = (await window.finkitChat.peerOf(c.public)).id; } catch (e) { continue; }
      if (peer !== c.peer_id) continue; // the server's peer id must be the key's
      const known = S.contacts.get(c.user_id);
      if (!known) {
        S.contacts.set(c.user_id, { user_id: c.user_id, username: c.username, peer, public: c.public, verified: false });
        changed = true;
      } else if (known.peer !== peer) {
        if (!known.changed || known.changed.peer !== peer) { known.changed = { peer, public: c.public }; changed = true; }
      } else if (known.changed) {
        delete known.changed;
        changed = true;
      }
      if (known && known.username !== c.username) { known.username = c.username; changed = true; }
    }
    if (changed) await saveContacts();
    for (const c of S.contacts.values()) {
      const cv = convFor(contactKey(c), c);
      // Messages that came from this key before it was a known contact.
      const early = S.convs.get('p:' + c.peer);
      if (early && !c.changed) {
        S.convs.delete(early.key);
        for (const m of early.messages) { m.conv = cv.key; await putMessage(m); addToConv(m); }
        cv.messages.sort((a, b) => a.time - b.time || (a.seq || 0) - (b.seq || 0));
        if (S.open === early.key) S.open = cv.key;
      }
    }
    renderContacts();
    if (S.open) renderHead();
  }

  // ---------- conversations ----------

  const contactKey = (c) => 'u:' + c.user_id;
  function contactByPeer(peer) {
    for (const c of S.contacts.values()) if (c.peer === peer) return c;
    return null;
  }
  function convFor(key, contact, peer) {
    let cv = S.convs.get(key);
    if (!cv) {
      cv = { key, messages: [], unread: 0 };
      S.convs.set(key, cv);
    }
    if (contact) { cv.userID = contact.user_id; cv.title = contact.username; cv.peer = contact.peer; }
    else if (peer && !cv.peer) { cv.peer = peer; cv.title = 'Key ' + peer.slice(0, 10) + '…'; }
    return cv;
  }
  function keyForPeer(peer) {
    const c = contactByPeer(peer);
    return c ? contactKey(c) : 'p:' + peer;
  }
  function addToConv(m) {
    const cv = S.convs.get(m.conv) || convFor(m.conv, m.conv.startsWith('u:') ? S.contacts.get(m.conv.slice(2)) : null, m.peer);
    const i = cv.messages.findIndex((x) => x.id === m.id);
    if (i >= 0) cv.messages[i] = m; else cv.messages.push(m);
    cv.unread = cv.messages.filter((x) => x.dir === 'in' && !x.read).length;
    return cv;
  }

  async function received(m) {
    let body = m.body;
    let mid = null;
    if (body.startsWith(MARK)) {
      let o;
      try { o = JSON.parse(body.slice(1)); } catch (e) { return; }
      if (o.t === 'r' && Array.isArray(o.ids)) { await delivered(m.from, o.ids); return; }
      if (o.t !== 'm' || typeof o.text !== 'string' || typeof o.id !== 'string') return;
      body = o.text;
      mid = o.id;
    }
    if (!contactByPeer(m.from) && Date.now() - (S.refreshed || 0) > 3000) {
      S.refreshed = Date.now(); // a new contact may just have published its key
      await refreshDirectory(null).catch(() => {});
    }
    const conv = keyForPeer(m.from);
    // A message the client hands over again after a crash (stored, state
    // not yet saved) has the same id: the sender's for browser messages,
    // the envelope's hash for others.
    const id = 'in:' + m.from + ':' + (mid || m.id);
    const existing = (S.convs.get(conv) || { messages: [] }).messages.find((x) => x.id === id);
    if (!existing) {
      const rec = { id, conv, peer: m.from, dir: 'in', text: body, time: m.time || Date.now(), read: S.open === conv && document.visibilityState === 'visible', seq: performance.now() };
      await putMessage(rec);
      addToConv(rec);
      renderContacts();
      if (S.open === conv) renderLog();
    }
    if (mid) send(m.from, MARK + JSON.stringify({ t: 'r', ids: [mid] })).catch(() => {});
  }

  async function delivered(from, ids) {
    for (const cv of S.convs.values()) {
      for (const x of cv.messages) {
        if (x.dir === 'out' && x.peer === from && ids.includes(x.mid) && x.state !== 'delivered') {
          x.state = 'delivered';
          await putMessage(x);
          if (S.open === cv.key) renderLog();
        }
      }
    }
  }

  function send(peer, body) { return window.finkitChat.send(peer, body); }

  $('chat-compose').addEventListener('submit', (ev) => { ev.preventDefault(); compose(); });
  $('chat-input').addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey) { ev.preventDefault(); compose(); }
  });

  async function compose() {
    const input = $('chat-input');
    const text = input.value.trim();
    const cv = S.convs.get(S.open);
    if (!text || !cv || blocked(cv)) return;
    input.value = '';
    const contact = cv.userID ? S.contacts.get(cv.userID) : null;
    const mid = crypto.randomUUID();
    const rec = { id: 'out:' + mid, mid, conv: cv.key, peer: cv.peer, dir: 'out', text, time: Date.now(), state: 'sending', seq: performance.now() };
    await putMessage(rec);
    addToConv(rec);
    renderLog();
    // Browser contacts get a structured body (for delivery receipts); a
    // key that is not a dashboard contact (finkit chat) gets plain text.
    const body = contact ? MARK + JSON.stringify({ t: 'm', id: mid, text }) : text;
    try {
      await send(cv.peer, body);
      if (rec.state === 'sending') rec.state = 'sent';
    } catch (e) {
      rec.state = 'failed';
      notice('Not sent: ' + friendly(e), true);
    }
    await putMessage(rec);
    renderLog();
  }

  function blocked(cv) {
    const c = cv.userID && S.contacts.get(cv.userID);
    return !!(c && c.changed);
  }

  // ---------- rendering ----------

  function show(state) {
    app.dataset.state = state;
    $('chat-shell').hidden = state !== 'ready';
    $('chat-setup').hidden = state !== 'setup';
    $('chat-unlock').hidden = state !== 'unlock';
    $('chat-elsewhere').hidden = state !== 'elsewhere';
    $('chat-unsupported').hidden = state !== 'unsupported';
    $('chat-backup-open').hidden = state !== 'ready';
    if (state === 'ready' && !S.connected) setConn('Connecting…', '');
    const idle = { setup: 'No chat key yet', unlock: 'Locked', elsewhere: 'Open in another tab', unsupported: 'Not supported' }[state];
    if (idle) setConn(idle, 'off');
  }
  function setConn(text, cls) {
    const el = $('chat-conn');
    el.textContent = text;
    el.className = 'chat-pill' + (cls ? ' ' + cls : '');
    S.connected = cls === 'live';
  }
  function notice(text, bad) {
    const el = document.createElement('div');
    el.className = 'chat-notice' + (bad ? ' bad' : '');
    el.textContent = text;
    const x = document.createElement('button');
    x.type = 'button';
    x.className = 'chat-notice-x';
    x.setAttribute('aria-label', 'Dismiss');
    x.textContent = '×';
    x.onclick = () => el.remove();
    el.appendChild(x);
    $('chat-notices').appendChild(el);
    while ($('chat-notices').children.length > 3) $('chat-notices').firstChild.remove();
  }
  function fatal(e) {
    $('chat-unsupported-text').textContent = friendly(e);
    show('unsupported');
  }
  function initial(name) { return (name || '?').slice(0, 1).toUpperCase(); }

  function renderContacts() {
    const ul = $('chat-contacts');
    ul.textContent = '';
    const list = [...S.convs.values()].filter((cv) => cv.peer);
    list.sort((a, b) => lastTime(b) - lastTime(a) || (a.title || '').localeCompare(b.title || ''));
    $('chat-contacts-empty').hidden = list.length > 0;
    for (const cv of list) {
      const li = document.createElement('li');
      const c = cv.userID ? S.contacts.get(cv.userID) : null;
      li.className = 'chat-contact' + (cv.key === S.open ? ' on' : '');
      li.dataset.conv = cv.key;
      if (c) li.dataset.username = c.username;
      li.dataset.unread = String(cv.unread);
      li.tabIndex = 0;
      li.setAttribute('role', 'button');
      const av = document.createElement('div');
      av.className = 'chat-avatar';
      av.textContent = initial(cv.title);
      const txt = document.createElement('div');
      txt.className = 'chat-contact-text';
      const name = document.createElement('strong');
      name.textContent = cv.title;
      if (c && c.verified && !c.changed) { const v = document.createElement('span'); v.className = 'chat-verified'; v.title = 'Verified'; v.textContent = '✓'; name.appendChild(v); }
      if (c && c.changed) { const w = document.createElement('span'); w.className = 'chat-changed'; w.title = 'Key changed'; w.textContent = '⚠'; name.appendChild(w); }
      const last = cv.messages[cv.messages.length - 1];
      const sub = document.createElement('span');
      sub.className = 'chat-muted';
      sub.textContent = last ? (last.dir === 'out' ? 'You: ' : '') + last.text : (c ? 'No messages yet' : 'Not a dashboard contact');
      txt.append(name, sub);
      li.append(av, txt);
      if (cv.unread > 0) { const b = document.createElement('span'); b.className = 'chat-unread'; b.textContent = String(cv.unread); b.setAttribute('aria-label', cv.unread + ' unread'); li.appendChild(b); }
      li.onclick = () => openConv(cv.key);
      li.onkeydown = (ev) => { if (ev.key === 'Enter') openConv(cv.key); };
      ul.appendChild(li);
    }
  }
  function lastTime(cv) { const l = cv.messages[cv.messages.length - 1]; return l ? l.time : 0; }

  async function openConv(key) {
    S.open = key;
    app.classList.add('in-conv');
    $('chat-placeholder').hidden = true;
    $('chat-conv').hidden = false;
    const cv = S.convs.get(key);
    for (const m of cv.messages) if (m.dir === 'in' && !m.read) { m.read = true; putMessage(m); }
    cv.unread = 0;
    renderHead();
    renderLog();
    renderContacts();
    $('chat-input').focus({ preventScroll: true });
  }
  $('chat-back').addEventListener('click', () => { app.classList.remove('in-conv'); });

  async function renderHead() {
    const cv = S.convs.get(S.open);
    if (!cv) return;
    const c = cv.userID ? S.contacts.get(cv.userID) : null;
    $('chat-peer-name').textContent = cv.title;
    $('chat-peer-avatar').textContent = initial(cv.title);
    $('chat-peer-sub').textContent = c ? (c.changed ? 'Key changed — not verified' : c.verified ? 'Verified ✓' : 'Not verified') : cv.peer;
    $('chat-peer-sub').className = 'chat-muted' + (c && c.verified && !c.changed ? ' ok' : '');
    const warn = $('chat-key-warning');
    const isBlocked = blocked(cv);
    warn.hidden = !isBlocked;
    $('chat-input').disabled = $('chat-send').disabled = isBlocked;
    $('chat-compose').classList.toggle('blocked', isBlocked);
    if (isBlocked) {
      $('chat-key-warning-name').textContent = c.username;
      $('chat-key-warning-number').textContent = groupDigits(await window.finkitChat.safetyNumber(c.changed.peer));
    }
  }
  function groupDigits(n) { return n.replace(/(\d{5})(?=\d)/g, '$1 '); }

  $('chat-key-accept').addEventListener('click', async () => {
    const cv = S.convs.get(S.open);
    const c = cv && S.contacts.get(cv.userID);
    if (!c || !c.changed) return;
    c.peer = c.changed.peer;
    c.public = c.changed.public;
    c.verified = false;
    delete c.changed;
    cv.peer = c.peer;
    await saveContacts();
    const rec = { id: 'sys:' + crypto.randomUUID(), conv: cv.key, peer: c.peer, dir: 'sys', text: 'You accepted ' + c.username + "'s new key. Verify the safety number again.", time: Date.now(), seq: performance.now() };
    await putMessage(rec);
    addToConv(rec);
    renderHead();
    renderLog();
    renderContacts();
  });

  $('chat-safety-open').addEventListener('click', async () => {
    const cv = S.convs.get(S.open);
    if (!cv) return;
    const c = cv.userID ? S.contacts.get(cv.userID) : null;
    $('chat-safety-name').textContent = $('chat-safety-name2').textContent = cv.title;
    $('chat-safety-number').textContent = groupDigits(await window.finkitChat.safetyNumber(c && c.changed ? c.changed.peer : cv.peer));
    $('chat-safety-verify').hidden = !c || !!c.changed;
    $('chat-safety-verify').textContent = c && c.verified ? 'Mark as not verified' : 'Mark as verified';
    $('chat-safety').hidden = false;
  });
  $('chat-safety-close').addEventListener('click', () => { $('chat-safety').hidden = true; });
  $('chat-safety-verify').addEventListener('click', async () => {
    const cv = S.convs.get(S.open);
    const c = cv && S.contacts.get(cv.userID);
    if (!c) return;
    c.verified = !c.verified;
    await saveContacts();
    $('chat-safety').hidden = true;
    renderHead();
    renderContacts();
  });

  const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
  const dayFmt = new Intl.DateTimeFormat(undefined, { weekday: 'short', day: 'numeric', month: 'short' });
  const stateText = { sending: 'Sending…', sent: '✓ Sent', delivered: '✓✓ Delivered', failed: 'Not sent' };

  function renderLog() {
    const cv = S.convs.get(S.open);
    const ol = $('chat-log');
    ol.textContent = '';
    if (!cv) return;
    let day = '';
    for (const m of cv.messages) {
      const d = dayFmt.format(m.time);
      if (d !== day) {
        day = d;
        const sep = document.createElement('li');
        sep.className = 'chat-day';
        sep.textContent = d;
        ol.appendChild(sep);
      }
      const li = document.createElement('li');
      li.className = 'chat-msg ' + m.dir;
      li.dataset.dir = m.dir;
      li.dataset.id = m.id;
      if (m.state) li.dataset.state = m.state;
      const bubble = document.createElement('div');
      bubble.className = 'chat-bubble';
      bubble.textContent = m.text;
      li.appendChild(bubble);
      if (m.dir !== 'sys') {
        const meta = document.createElement('div');
        meta.className = 'chat-meta';
        meta.textContent = timeFmt.format(m.time) + (m.dir === 'out' ? ' · ' + (stateText[m.state] || '') : '');
        li.appendChild(meta);
      }
      ol.appendChild(li);
    }
    ol.scrollTop = ol.scrollHeight;
  }

  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && S.open) openConv(S.open);
  });

  // ---------- start ----------

  for (const el of document.querySelectorAll('.chat-relay-url')) el.textContent = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/chat/ws';
  $('chat-my-avatar').textContent = initial(username);
  const missing = [];
  if (!window.WebAssembly) missing.push('WebAssembly');
  if (!window.indexedDB) missing.push('IndexedDB');
  if (!window.crypto || !crypto.subtle) missing.push('WebCrypto (the page must be served over https or from localhost)');
  if (!navigator.locks) missing.push('Web Locks');
  if (missing.length) {
    $('chat-unsupported-text').textContent = 'Missing: ' + missing.join(', ') + '.';
    show('unsupported');
    return;
  }
  loadModule().catch(fatal); // fetch and compile while the lock is taken
  acquire(false);
})();
