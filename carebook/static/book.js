// The slot picker's action bar follows the chosen time: the button says what it books
// ("Book Thu 3 Dec, 09:30 with Dr Okafor") and the cut-off warning shows for a time inside it.
// Without this script the form works the same; the button then says "Book the chosen time".
(function () {
  "use strict";
  var button = document.getElementById("slot-action");
  var warning = document.getElementById("late-warning");
  if (!button) { return; }
  document.addEventListener("change", function (event) {
    var choice = event.target;
    if (choice.name !== "start_at" || !choice.checked) { return; }
    button.textContent = button.getAttribute("data-prefix") + " " + choice.getAttribute("data-when") +
      button.getAttribute("data-suffix");
    if (warning) { warning.hidden = choice.getAttribute("data-late") !== "1"; }
  });
})();
