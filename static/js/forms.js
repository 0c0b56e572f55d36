/*
 * Forms, progressively enhanced (docs/forms.md). Everything here also works without it:
 *  - after an invalid submit, focus moves to the error summary (it is announced either way);
 *  - a submitted form's buttons are disabled, so a second click sends nothing (the server's
 *    one-time token already makes a second submission harmless);
 *  - a field with data-maxlength shows a live count of its characters, and says when there are
 *    too many (the server refuses them with a message by the field; it never cuts text).
 * Our own file, served from 'self' (the Content-Security-Policy allows no inline script).
 */
(function () {
  "use strict";

  function focusErrorSummary() {
    var summary = document.querySelector("[data-error-summary]");
    if (summary) {
      summary.focus();
    }
  }

  function disableOnSubmit() {
    document.addEventListener("submit", function (event) {
      var form = event.target;
      if (!(form instanceof HTMLFormElement) || event.defaultPrevented) {
        return;
      }
      if (form.dataset.submitted === "true") {
        event.preventDefault();
        return;
      }
      form.dataset.submitted = "true";
      // After this turn: a button disabled now would not send its own name and value (the
      // price confirmation is such a button).
      window.setTimeout(function () {
        form.querySelectorAll("button[type=submit], button:not([type]), input[type=submit]")
          .forEach(function (button) {
            button.disabled = true;
            button.setAttribute("aria-busy", "true");
          });
      }, 0);
    });
    // Back to a page kept by the browser's cache: its forms can be used again.
    window.addEventListener("pageshow", function (event) {
      if (!event.persisted) {
        return;
      }
      document.querySelectorAll("form[data-submitted]").forEach(function (form) {
        delete form.dataset.submitted;
        form.querySelectorAll("[aria-busy]").forEach(function (button) {
          button.disabled = false;
          button.removeAttribute("aria-busy");
        });
      });
    });
  }

  function characterCounters() {
    var language = document.documentElement.lang || "en";
    var numbers = new Intl.NumberFormat(language);
    document.querySelectorAll("[data-maxlength]").forEach(function (field) {
      var limit = parseInt(field.dataset.maxlength, 10);
      if (!limit) {
        return;
      }
      var counter = document.createElement("small");
      counter.className = "character-count";
      counter.id = field.id + "-count";
      var overMessage = document.createElement("span");
      overMessage.className = "character-count-over";
      overMessage.setAttribute("aria-live", "polite");
      var count = document.createElement("span");
      counter.appendChild(count);
      counter.appendChild(overMessage);
      field.insertAdjacentElement("afterend", counter);
      var described = (field.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
      described.push(counter.id);
      field.setAttribute("aria-describedby", described.join(" "));

      function update() {
        // Characters as the server counts them (code points), not UTF-16 units.
        var length = Array.from(field.value).length;
        count.textContent = (field.dataset.countTemplate || "%(count)s / %(max)s")
          .replace("%(count)s", numbers.format(length))
          .replace("%(max)s", numbers.format(limit));
        var over = length > limit;
        counter.classList.toggle("over", over);
        overMessage.textContent = over
          ? " " + (field.dataset.overTemplate || "").replace("%(count)s", numbers.format(length - limit))
          : "";
      }
      field.addEventListener("input", update);
      update();
    });
  }

  function start() {
    characterCounters();
    disableOnSubmit();
    focusErrorSummary();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
