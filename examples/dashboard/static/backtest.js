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

// A running job's progress bar (a Monte Carlo run or an optimisation)
// follows the job, polled from the API; when the job ends the page
// reloads to show the result. Without JavaScript the page refreshes
// itself instead.
(function () {
  "use strict";
  var box = document.getElementById("mc-job");
  if (!box || box.dataset.state !== "running") return;
  var bar = document.getElementById("job-progress");
  var text = document.getElementById("job-progress-text");
  var opt = box.dataset.kind === "optimize";
  var api = opt ? "/api/optimize/jobs/" : "/api/montecarlo/jobs/";
  function poll() {
    fetch(api + encodeURIComponent(box.dataset.job), { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (j) {
        bar.value = j.progress_pct;
        bar.textContent = j.progress_pct.toFixed(1) + " %";
        text.textContent = j.progress_pct.toFixed(1) + " % · " + (opt ? j.done_backtests + " of " + j.backtests + " backtests" : j.done_paths + " of " + j.paths + " paths");
        if (j.state !== "running") { location.reload(); return; }
        setTimeout(poll, 500);
      })
      .catch(function () { setTimeout(poll, 2000); });
  }
  setTimeout(poll, 300);
})();
