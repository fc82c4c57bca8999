"""The console's own script, beside the shared ``console.js`` of :mod:`iamledger.html`: the time slider applies the
position it is moved to (a moment after it was released or its last key press), and shows that
position while it moves. Without it the slider's ``Go to position`` button does the same."""

from __future__ import annotations

from typing import Final

SLIDER_JS: Final = b"""// iamledger console: the time slider applies the position it is moved to.
(function () {
  "use strict";
  var forms = document.querySelectorAll("form[data-autosubmit]");
  for (var i = 0; i < forms.length; i += 1) {
    (function (form) {
      var range = form.querySelector("input[type=range]");
      if (!range) { return; }
      var shown = form.querySelector("output");
      var timer = null;
      function show() {
        if (shown) { shown.textContent = range.value; }
        range.setAttribute("aria-valuetext", "position " + range.value);
      }
      function submitSoon(delay) {
        if (timer) { clearTimeout(timer); }
        timer = setTimeout(function () { form.submit(); }, delay);
      }
      range.addEventListener("input", show);
      range.addEventListener("change", function () { show(); submitSoon(400); });
    }(forms[i]));
  }
}());
"""
