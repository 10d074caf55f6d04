// Uploads one file to a tus 1.0 server with the real tus-js-client.
// Usage: node upload.js ENDPOINT TOKEN FILE URLSTORE [--slow]
// Prints one JSON line per event: {"event":"url"|"progress"|"patch"|"success"|"error", ...}.
// With --slow each PATCH waits a little, so a test can kill the process mid-upload.
// A second run with the same URLSTORE resumes the previous upload.
'use strict';
const fs = require('fs');
const tus = require('tus-js-client');

const [endpoint, token, file, store, mode] = process.argv.slice(2);
const say = (o) => process.stdout.write(JSON.stringify(o) + '\n');

const upload = new tus.Upload(fs.createReadStream(file), {
  endpoint,
  chunkSize: 64 * 1024,
  uploadSize: fs.statSync(file).size,
  retryDelays: [],
  metadata: { filename: require('path').basename(file), account: 'acc-1' },
  headers: { Authorization: 'Bearer ' + token },
  urlStorage: new tus.FileUrlStorage(store),
  fingerprint: async () => 'finkit-test:' + file,
  removeFingerprintOnSuccess: true,
  onBeforeRequest: (req) => {
    if (req.getMethod() === 'PATCH') {
      say({ event: 'patch', offset: Number(req.getHeader('Upload-Offset')) });
      if (mode === '--slow') {
        return new Promise((resolve) => setTimeout(resolve, 40));
      }
    }
  },
  onUploadUrlAvailable: () => say({ event: 'url', url: upload.url }),
  onProgress: (sent, total) => say({ event: 'progress', sent, total }),
  onSuccess: () => say({ event: 'success', url: upload.url }),
  onError: (err) => {
    say({ event: 'error', message: String(err && err.message) });
    process.exitCode = 1;
  },
});

upload.findPreviousUploads().then((previous) => {
  if (previous.length > 0) {
    say({ event: 'resume', url: previous[0].uploadUrl });
    upload.resumeFromPreviousUpload(previous[0]);
  }
  upload.start();
});
