// The chat client's dedicated Web Worker. It runs the WebAssembly module
// (chat/client.wasm), so the module's work (argon2id, X3DH, the ratchet,
// the relay's WebSocket) never runs on the page's thread: Go's js/wasm
// scheduler gives the thread back to JavaScript only when every goroutine
// waits, and a page running it would freeze during an unlock. The page
// (chat.js) calls the module's methods by message and answers the
// module's callbacks (save the state, store a message) the same way; the
// page keeps IndexedDB, its WebCrypto keys and the session's Web Lock.
//
// Page → worker: {id, method, args}      worker → page: {id, value} or {id, error}
// Worker → page: {cb, id, payload}       page → worker: {reply: id, value} or {reply: id, error}
// (cb 'event' has no id and gets no reply.)
'use strict';
importScripts('/static/chat/wasm_exec.js');

const waiting = new Map(); // callback id -> {resolve, reject}
let nextID = 1;

// callPage asks the page to run a callback and settles with its answer.
function callPage(cb, payload) {
  return new Promise((resolve, reject) => {
    const id = nextID++;
    waiting.set(id, { resolve, reject });
    self.postMessage({ cb, id, payload });
  });
}

const loaded = (async () => {
  const t0 = performance.now();
  const ready = new Promise((resolve) => { self.finkitChatReady = resolve; });
  const go = new Go();
  const { instance } = await WebAssembly.instantiateStreaming(fetch('/chat/client.wasm', { credentials: 'same-origin' }), go.importObject);
  const fetchCompileMs = performance.now() - t0;
  go.run(instance);
  await ready;
  return { fetchCompileMs, loadMs: performance.now() - t0 };
})();

// Callbacks cannot cross postMessage: start's save, onMessage and onEvent
// become calls to the page.
function withCallbacks(method, args) {
  if (method !== 'start' || !args[0] || typeof args[0] !== 'object') return args;
  return [{
    ...args[0],
    save: (sealed) => callPage('save', sealed),
    onMessage: (m) => callPage('message', m),
    onEvent: (ev) => { self.postMessage({ cb: 'event', payload: ev }); },
  }, ...args.slice(1)];
}

self.onmessage = async (ev) => {
  const m = ev.data || {};
  if (m.reply) {
    const w = waiting.get(m.reply);
    if (!w) return;
    waiting.delete(m.reply);
    if ('error' in m) w.reject(new Error(m.error)); else w.resolve(m.value);
    return;
  }
  try {
    const timing = await loaded;
    if (m.method === 'load') { self.postMessage({ id: m.id, value: timing }); return; }
    const fn = self.finkitChat[m.method];
    if (typeof fn !== 'function') throw new Error('no such chat method: ' + m.method);
    const value = await fn(...withCallbacks(m.method, Array.isArray(m.args) ? m.args : []));
    self.postMessage({ id: m.id, value });
  } catch (e) {
    self.postMessage({ id: m.id, error: String((e && e.message) || e) });
  }
};
