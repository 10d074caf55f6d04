// The admin upload page: drag and drop, a progress bar per file (multipart
// for small files, tus 1.0 in chunks for large ones), live job status from
// server-sent events, and delete. Served from /static so the page's
// Content-Security-Policy (script-src 'self') holds.
(function () {
  'use strict';
  var TUS_THRESHOLD = 8 * 1024 * 1024; // larger files go through tus
  var CHUNK = 4 * 1024 * 1024;
  var drop = document.getElementById('dropzone');
  var input = document.getElementById('upload-input');
  var list = document.getElementById('upload-progress');
  if (!drop) { return; }

  function field(id) { var el = document.getElementById(id); return el ? el.value : ''; }

  function row(file) {
    var li = document.createElement('li');
    var name = document.createElement('span');
    name.className = 'strong';
    name.textContent = file.name;
    var bar = document.createElement('progress');
    bar.max = 100; bar.value = 0;
    var status = document.createElement('span');
    status.className = 'small muted';
    status.textContent = 'waiting';
    li.append(name, ' ', bar, ' ', status);
    list.append(li);
    return { bar: bar, status: status };
  }

  function errorOf(xhrOrResp, text) {
    try { return JSON.parse(text).error || ('HTTP ' + xhrOrResp.status); } catch (e) { return 'HTTP ' + xhrOrResp.status; }
  }

  function multipart(file, ui) {
    return new Promise(function (resolve, reject) {
      var fd = new FormData();
      fd.append('kind', field('upload-kind'));
      if (field('upload-account')) { fd.append('account', field('upload-account')); }
      fd.append('file', file, file.name);
      var xhr = new XMLHttpRequest();
      xhr.open('POST', '/uploads');
      xhr.upload.onprogress = function (e) { if (e.lengthComputable) { ui.bar.value = Math.round(100 * e.loaded / e.total); } };
      xhr.onload = function () {
        if (xhr.status === 202) { resolve(JSON.parse(xhr.responseText).uploads[0].id); } else { reject(new Error(errorOf(xhr, xhr.responseText))); }
      };
      xhr.onerror = function () { reject(new Error('network error')); };
      xhr.send(fd);
    });
  }

  function b64(s) { return btoa(unescape(encodeURIComponent(s))); }

  async function tus(file, ui) {
    var meta = 'filename ' + b64(file.name) + ',kind ' + b64(field('upload-kind'));
    if (field('upload-account')) { meta += ',account ' + b64(field('upload-account')); }
    var key = 'tus:' + file.name + ':' + file.size + ':' + file.lastModified;
    var url = localStorage.getItem(key);
    var offset = 0;
    if (url) {
      var head = await fetch(url, { method: 'HEAD', headers: { 'Tus-Resumable': '1.0.0' } });
      if (head.ok) { offset = Number(head.headers.get('Upload-Offset')); } else { url = null; }
    }
    if (!url) {
      var created = await fetch('/uploads/tus/', { method: 'POST', headers: { 'Tus-Resumable': '1.0.0', 'Upload-Length': String(file.size), 'Upload-Metadata': meta } });
      if (created.status !== 201) { throw new Error(errorOf(created, await created.text())); }
      url = created.headers.get('Location');
      localStorage.setItem(key, url);
    }
    while (offset < file.size) {
      var resp = await fetch(url, {
        method: 'PATCH',
        headers: { 'Tus-Resumable': '1.0.0', 'Upload-Offset': String(offset), 'Content-Type': 'application/offset+octet-stream' },
        body: file.slice(offset, offset + CHUNK)
      });
      if (resp.status !== 204) { throw new Error(errorOf(resp, await resp.text())); }
      offset = Number(resp.headers.get('Upload-Offset'));
      ui.bar.value = Math.round(100 * offset / file.size);
    }
    localStorage.removeItem(key);
    return url.substring(url.lastIndexOf('/') + 1);
  }

  function watch(id, ui) {
    var es = new EventSource('/uploads/' + encodeURIComponent(id) + '/events');
    es.addEventListener('status', function (e) {
      var u = JSON.parse(e.data);
      ui.status.textContent = u.state + (u.message ? ' — ' + u.message : '');
      if (u.state === 'processing') { ui.bar.value = u.progress; }
      if (u.state === 'done' || u.state === 'failed' || u.state === 'cancelled') {
        es.close();
        ui.bar.value = 100;
        ui.status.className = 'small ' + (u.state === 'done' ? 'up' : 'down');
        refreshSoon();
      }
    });
    es.onerror = function () { es.close(); };
    return es;
  }

  // The "Past uploads" table is re-read from the server page when a job
  // ends, so finished uploads appear there without a reload.
  var tableWatches = [];
  var refreshTimer = null;
  function refreshSoon() {
    if (refreshTimer) { clearTimeout(refreshTimer); }
    refreshTimer = setTimeout(refreshTable, 300);
  }
  async function refreshTable() {
    refreshTimer = null;
    var table = document.getElementById('upload-table');
    if (!table) { return; }
    var resp = await fetch(location.pathname + location.search, { headers: { 'Accept': 'text/html' } });
    if (!resp.ok) { return; }
    var doc = new DOMParser().parseFromString(await resp.text(), 'text/html');
    var fresh = doc.querySelector('#upload-table tbody');
    if (!fresh) { return; }
    table.querySelector('tbody').replaceWith(document.importNode(fresh, true));
    bindTable();
  }
  function bindTable() {
    tableWatches.forEach(function (es) { es.close(); });
    tableWatches = [];
    document.querySelectorAll('#upload-table [data-delete]').forEach(function (btn) {
      btn.addEventListener('click', async function () {
        var id = btn.getAttribute('data-delete');
        var resp = await fetch('/uploads/' + encodeURIComponent(id), { method: 'DELETE' });
        if (resp.status === 204) { btn.closest('tr').remove(); } else { alert('Delete failed: ' + errorOf(resp, await resp.text())); }
      });
    });
    document.querySelectorAll('#upload-table tr[data-state="queued"], #upload-table tr[data-state="processing"]').forEach(function (tr) {
      var cell = tr.querySelector('.status');
      tableWatches.push(watch(tr.getAttribute('data-id'), { bar: { value: 0 }, status: cell }));
    });
  }

  async function send(file) {
    var ui = row(file);
    ui.status.textContent = 'uploading';
    try {
      var id = file.size > TUS_THRESHOLD ? await tus(file, ui) : await multipart(file, ui);
      ui.bar.value = 0;
      ui.status.textContent = 'queued';
      watch(id, ui);
    } catch (err) {
      ui.status.textContent = 'rejected: ' + err.message;
      ui.status.className = 'small down';
    }
  }

  function sendAll(files) { Array.prototype.forEach.call(files, send); }

  ['dragenter', 'dragover'].forEach(function (t) {
    drop.addEventListener(t, function (e) { e.preventDefault(); drop.classList.add('over'); });
  });
  ['dragleave', 'drop'].forEach(function (t) {
    drop.addEventListener(t, function (e) { e.preventDefault(); drop.classList.remove('over'); });
  });
  drop.addEventListener('drop', function (e) { sendAll(e.dataTransfer.files); });
  input.addEventListener('change', function () { sendAll(input.files); input.value = ''; });

  bindTable();
})();
