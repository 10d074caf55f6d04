// Show only the parameters of the selected strategy.
(function () {
  "use strict";
  var sel = document.getElementById("strategy");
  if (!sel) return;
  function show() {
    document.querySelectorAll("fieldset.params").forEach(function (fs) {
      fs.hidden = fs.dataset.strategy !== sel.value;
    });
  }
  sel.addEventListener("change", show);
  show();
})();

// A running Monte Carlo job's progress bar follows the job (polled from
// the API); when the job ends the page reloads to show the result.
// Without JavaScript the page refreshes itself instead.
(function () {
  "use strict";
  var box = document.getElementById("mc-job");
  if (!box || box.dataset.state !== "running") return;
  var bar = document.getElementById("job-progress");
  var text = document.getElementById("job-progress-text");
  function poll() {
    fetch("/api/montecarlo/jobs/" + encodeURIComponent(box.dataset.job), { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (j) {
        bar.value = j.progress_pct;
        bar.textContent = j.progress_pct.toFixed(1) + " %";
        text.textContent = j.progress_pct.toFixed(1) + " % · " + j.done_paths + " of " + j.paths + " paths";
        if (j.state !== "running") { location.reload(); return; }
        setTimeout(poll, 500);
      })
      .catch(function () { setTimeout(poll, 2000); });
  }
  setTimeout(poll, 300);
})();
