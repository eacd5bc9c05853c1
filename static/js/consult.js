// Progressive enhancement only: every form on the site works without this file.
"use strict";

// Deferred, so the body exists; the NHS components (started by init.mjs, which runs next) need these classes.
document.body.classList.add("js-enabled", "nhsuk-frontend-supported");
enhanceVotes();
refreshProgress();

// Voting without a page reload: send the same form in the background and update the counts. Clicks are
// queued per item, each asking for the state shown when it was clicked, so rapid clicks end in the last one.
function enhanceVotes() {
  document.querySelectorAll(".consult-votes").forEach(function (box) {
    var queue = Promise.resolve();
    var waiting = 0;
    box.querySelectorAll("form.consult-votes__form").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var body = new FormData(form);
        var before = currentVote(box);
        showMine(box, parseInt(body.get("value"), 10), true);
        waiting += 1;
        queue = queue.then(function () { return send(form.action, body); }).then(function (data) {
          // Only the last answer's counts are shown; earlier ones are already out of date.
          if (waiting === 1) { updateVotes(box, data); }
        }).catch(function (error) {
          // Nothing was saved: the buttons go back to what they showed, and the reason is said beside them.
          showMine(box, before);
          var mine = box.querySelector("[data-vote-mine]");
          mine.textContent = error.message + " ";
          if (error.status === 401) {
            var link = document.createElement("a");
            link.href = "/login?next=" + encodeURIComponent(window.location.pathname + window.location.search);
            link.textContent = "Log in";
            mine.appendChild(link);
          }
        }).then(function () { waiting -= 1; });
      });
    });
  });
}

function send(action, body) {
  return fetch(action, {
    method: "POST",
    body: body,
    headers: { "Accept": "application/json" },
    credentials: "same-origin"
  }).then(function (response) {
    var json = (response.headers.get("Content-Type") || "").indexOf("application/json") === 0;
    if (!json) {  // a proxy's error page, say: never show its HTML or a parse error
      throw withStatus(new Error("Your vote was not saved. Try again in a moment."), response.status);
    }
    return response.json().then(function (data) {
      if (!response.ok) { throw withStatus(new Error(data.error || "Your vote was not saved."), response.status); }
      return data;
    });
  }, function () {
    throw new Error("Your vote was not saved: the connection failed. Try again.");
  });
}

function withStatus(error, status) {
  error.status = status;
  return error;
}

// The vote this box shows as saved: 1, -1 or 0 (read from the pressed button).
function currentVote(box) {
  var pressed = box.querySelector("button[aria-pressed='true']");
  if (!pressed) { return 0; }
  return parseInt(pressed.closest("form").querySelector("[data-vote-value]").getAttribute("data-vote-value"), 10);
}

function updateVotes(box, data) {
  box.querySelector("[data-vote-up]").textContent = data.up;
  box.querySelector("[data-vote-down]").textContent = data.down;
  showMine(box, data.value);
}

// Show a vote as the participant's own: the words, the pressed button, and what the next click asks for.
// While saving, the buttons already show the choice (so a next click asks for the right thing) but the
// words say it is not saved yet, so nobody leaves the page thinking it is.
function showMine(box, value, saving) {
  var mine = box.querySelector("[data-vote-mine]");
  // The words come from the page: an emerging theme is checked ("you said this is right"), an idea supported.
  mine.textContent = saving ? "(saving your vote\u2026)" :
    value === 1 ? box.getAttribute("data-vote-said-up") :
    value === -1 ? box.getAttribute("data-vote-said-down") : "(vote withdrawn)";
  var hint = box.querySelector("[data-vote-hint]");
  if (hint) { hint.hidden = value === 0; }
  box.querySelectorAll("form.consult-votes__form").forEach(function (form) {
    var input = form.querySelector("[data-vote-value]");
    var own = parseInt(input.getAttribute("data-vote-value"), 10);
    var pressed = value === own;
    input.value = pressed ? 0 : own;
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
