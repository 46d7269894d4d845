// Small enhancements; every page works without them.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // Move focus to a form's error summary so that screen readers announce it.
  const summary = document.getElementById("form-errors");
  if (summary) summary.focus();
  // A form is sent once: a second press while the first is on its way does nothing.
  for (const form of document.querySelectorAll("form[method=post]")) {
    form.addEventListener("submit", (event) => {
      if (form.dataset.sent === "1") { event.preventDefault(); return; }
      form.dataset.sent = "1";
      for (const button of form.querySelectorAll("button[type=submit]")) button.setAttribute("aria-busy", "true");
    });
  }
});
