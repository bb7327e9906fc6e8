// Optional comfort for the hours forms: fold the empty range rows of each day behind an
// "+ add range" button. Without this script every row is simply shown.
(function () {
  "use strict";
  function setUp(container) {
    var rows = Array.prototype.slice.call(container.querySelectorAll("[data-range-row]"));
    var empty = rows.filter(function (row) { return row.classList.contains("is-empty"); });
    // Keep one empty row visible when a day has none filled in, so the day can be started.
    var keep = empty.length === rows.length ? 1 : 0;
    var hidden = empty.slice(keep);
    if (!hidden.length) { return; }
    hidden.forEach(function (row) { row.hidden = true; });
    var button = document.createElement("button");
    button.type = "button";
    button.className = "btn btn-link btn-sm add-range";
    button.textContent = "+ add range";
    var where = container.getAttribute("data-where");
    if (where) {
      // Which day is spoken, not shown: the visible words stay the start of the button's name.
      var hint = document.createElement("span");
      hint.className = "sr-only";
      hint.textContent = " " + where;
      button.appendChild(hint);
    }
    button.addEventListener("click", function () {
      var next = hidden.shift();
      if (next) {
        next.hidden = false;
        var input = next.querySelector("input");
        if (input) { input.focus(); }
      }
      if (!hidden.length) { button.remove(); }
    });
    container.appendChild(button);
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-range-rows]").forEach(setUp);
  });
})();
