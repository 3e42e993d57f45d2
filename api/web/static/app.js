/* After an htmx partial update: say what changed, and never leave focus stranded on <body>.
   Every page works without this file (and without htmx); it only improves the partial updates.
   - An element of the new content with `data-announce` is read out through the page's one
     persistent live region (#live): a region that is itself swapped out is not announced reliably.
   - If the element that had focus was swapped away, focus goes to the new content's `data-focus`
     element, else to the swapped region itself. (htmx already restores focus to an element that
     keeps its id, as the preference toggles do.) */
(function () {
  "use strict";

  function announce(text) {
    var live = document.getElementById("live");
    if (!live || !text) { return; }
    live.textContent = "";
    window.setTimeout(function () { live.textContent = text; }, 100);
  }

  function focusable(element) {
    if (!/^(A|BUTTON|INPUT|SELECT|TEXTAREA|SUMMARY)$/.test(element.tagName) && !element.hasAttribute("tabindex")) {
      element.setAttribute("tabindex", "-1");
    }
    return element;
  }

  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    event.detail.target.dataset.swapId = target.id || "";
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail.target;
    var id = target && target.dataset ? target.dataset.swapId : "";
    var region = (id && document.getElementById(id)) || target;
    if (!region || !region.querySelector) { return; }
    var said = region.matches("[data-announce]") ? region : region.querySelector("[data-announce]");
    if (said) { announce(said.getAttribute("data-announce")); }
    var active = document.activeElement;
    if (!active || active === document.body) {
      var next = region.querySelector("[data-focus]") || region;
      focusable(next).focus();
    }
  });
})();
