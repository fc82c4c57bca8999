// iamledger's console and report: a little progressive enhancement; every page works without it.
(function () {
  "use strict";

  // A click (or Enter) on a window of an exposure chart selects its entry in the list below and moves focus there,
  // so that its opening and closing events are read out and shown.
  function selectWindow(link, event) {
    var id = (link.getAttribute("href") || "").slice(1);
    var item = id ? document.getElementById(id) : null;
    if (!item) { return; }
    if (event) { event.preventDefault(); }
    var selected = document.querySelectorAll(".exposure-windows .is-selected");
    for (var i = 0; i < selected.length; i += 1) { selected[i].classList.remove("is-selected"); }
    item.classList.add("is-selected");
    item.setAttribute("tabindex", "-1");
    item.focus();
    if (history.replaceState) { history.replaceState(null, "", "#" + id); }
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    var link = target && target.closest ? target.closest("a.exposure-window") : null;
    if (link) { selectWindow(link, event); }
  });

  // "Open all" / "Close all" buttons for the <details> of a section: <button data-details="open|close"
  // data-target="id">.
  document.addEventListener("click", function (event) {
    var button = event.target && event.target.closest ? event.target.closest("button[data-details]") : null;
    if (!button) { return; }
    var scope = document.getElementById(button.getAttribute("data-target") || "") || document;
    var open = button.getAttribute("data-details") === "open";
    var all = scope.querySelectorAll("details");
    for (var i = 0; i < all.length; i += 1) { all[i].open = open; }
  });

  // A link to an event of a timeline (#event-N) opens its policy diff when it has one.
  function openTarget() {
    var id = window.location.hash.slice(1);
    var item = id ? document.getElementById(id) : null;
    if (item && item.classList.contains("timeline-event")) {
      var diff = item.querySelector("details.event-diff");
      if (diff) { diff.open = true; }
    }
  }
  window.addEventListener("hashchange", openTarget);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", openTarget);
  } else {
    openTarget();
  }
}());
