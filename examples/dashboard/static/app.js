// Small progressive enhancements; every form also works without JavaScript.
(function () {
  "use strict";
  document.querySelectorAll("select.autosubmit").forEach(function (sel) {
    sel.addEventListener("change", function () { sel.form.submit(); });
  });
  document.querySelectorAll(".js-hide").forEach(function (el) { el.hidden = true; });

  // The navigation collapses behind a disclosure button on narrow screens.
  // Without JavaScript the button stays hidden and the links wrap instead.
  var toggle = document.querySelector(".nav-toggle");
  var top = document.querySelector("header.top");
  if (!toggle || !top) { return; }
  toggle.hidden = false;
  top.classList.add("collapsible");
  function setOpen(open) {
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    top.classList.toggle("open", open);
  }
  toggle.addEventListener("click", function () {
    setOpen(toggle.getAttribute("aria-expanded") !== "true");
  });
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "Escape" && top.classList.contains("open")) {
      setOpen(false);
      toggle.focus();
    }
  });
})();
