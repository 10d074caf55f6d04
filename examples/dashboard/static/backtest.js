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
