// The staff console under the Content Security Policy (no inline script, no javascript: URLs).
// Flask-Admin's stock templates use onclick attributes and javascript:void(0) links; the
// overrides in templates/admin/ mark those links instead, and this file does what they did.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {  // capture: before any handler can stop it
    var link = event.target.closest("a[data-no-navigation], a[href^='javascript:']");
    if (!link) { return; }
    // A link that only opens a menu or runs a handler must not navigate (not even to "#").
    event.preventDefault();
    var action = link.getAttribute("data-model-action");
    if (action && window.modelActions) {
      window.modelActions.execute(action);
    }
  }, true);
})();
