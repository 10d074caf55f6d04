// Live quote updates over server-sent events (Aggregator.Watch).
(function () {
  "use strict";
  var table = document.getElementById("quotes");
  var status = document.getElementById("live-status");
  if (!table || !window.EventSource) { if (status) status.textContent = "live updates unavailable"; return; }
  var es = new EventSource("/quotes/stream?symbols=" + encodeURIComponent(table.dataset.symbols));
  es.onopen = function () { status.textContent = "live"; status.className = "pill live"; };
  es.onerror = function () { status.textContent = "reconnecting…"; status.className = "pill"; };
  function fmt(x) { var d = x >= 10 ? 2 : x >= 1 ? 3 : 4; return Number(x).toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d }); }
  es.addEventListener("quote", function (e) {
    var q = JSON.parse(e.data);
    var row = table.querySelector('tr[data-symbol="' + q.symbol + '"]');
    if (!row || q.error) return;
    var cell = row.querySelector(".price");
    if (!cell) return;
    var old = parseFloat(cell.textContent.replace(/,/g, ""));
    var now = parseFloat(q.price.replace(/,/g, ""));
    cell.textContent = q.price;
    row.querySelector(".spread").textContent = q.spread_pct;
    var conf = row.querySelector(".conf");
    if (conf) {
      var pill = document.createElement("span");
      pill.className = q.trusted ? "pill" : "badge off";
      pill.textContent = q.trusted ? q.confidence : "low confidence";
      pill.title = q.reason || "";
      conf.textContent = "";
      conf.appendChild(pill);
    }
    row.querySelector(".time").textContent = new Date(q.time).toLocaleTimeString();
    var src = row.querySelector(".sources");
    src.textContent = "";
    (q.sources || []).forEach(function (s) {
      var span = document.createElement("span");
      span.className = "src" + (s.outlier ? " outlier" : "") + (s.used ? "" : " unused");
      var b = document.createElement("b"); b.textContent = s.provider;
      span.appendChild(b);
      span.appendChild(document.createTextNode(" " + fmt(s.price) + " · " + Math.round(s.latency / 1e6) + " ms"));
      src.appendChild(span);
    });
    row.classList.remove("tick-up", "tick-down");
    void row.offsetWidth;
    if (now > old) row.classList.add("tick-up"); else if (now < old) row.classList.add("tick-down");
  });
})();
