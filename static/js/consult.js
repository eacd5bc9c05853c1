// Progressive enhancement only: every form on the site works without this file.
"use strict";

// Deferred, so the body exists; the NHS components (started by init.mjs, which runs next) need these classes.
document.body.classList.add("js-enabled", "nhsuk-frontend-supported");
enhanceVotes();
refreshProgress();

// Voting without a page reload: send the same form in the background and update the counts.
function enhanceVotes() {
  document.querySelectorAll(".consult-votes").forEach(function (box) {
    box.querySelectorAll("form.consult-votes__form").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var button = form.querySelector("button");
        button.disabled = true;
        fetch(form.action, {
          method: "POST",
          body: new FormData(form),
          headers: { "Accept": "application/json" },
          credentials: "same-origin"
        }).then(function (response) {
          return response.json().then(function (data) { return { ok: response.ok, data: data }; });
        }).then(function (result) {
          if (!result.ok) { throw new Error(result.data.error || "Your vote was not saved."); }
          updateVotes(box, result.data);
        }).catch(function (error) {
          var mine = box.querySelector("[data-vote-mine]");
          mine.textContent = error.message;
        }).finally(function () { button.disabled = false; });
      });
    });
  });
}

function updateVotes(box, data) {
  box.querySelector("[data-vote-up]").textContent = data.up;
  box.querySelector("[data-vote-down]").textContent = data.down;
  var mine = box.querySelector("[data-vote-mine]");
  mine.textContent = data.value === 1 ? "(you support this)" : data.value === -1 ? "(you are against this)" : "(vote withdrawn)";
  box.querySelectorAll("form.consult-votes__form").forEach(function (form) {
    var input = form.querySelector("[data-vote-value]");
    var value = parseInt(input.getAttribute("data-vote-value"), 10);
    var pressed = data.value === value;
    input.value = pressed ? 0 : value;
    var button = form.querySelector("button");
    button.setAttribute("aria-pressed", pressed ? "true" : "false");
    button.classList.toggle("nhsuk-button--secondary", !pressed);
  });
}

// Analysis progress pages carry data-refresh; reload them until the run finishes.
function refreshProgress() {
  var el = document.querySelector("[data-refresh-seconds]");
  if (!el) { return; }
  window.setTimeout(function () { window.location.reload(); }, 1000 * parseInt(el.getAttribute("data-refresh-seconds"), 10));
}
