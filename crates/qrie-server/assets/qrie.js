// qrie: small progressive enhancement. Every page works without this file.
// It refreshes the "inventory sweep running" indicator in the header and the
// progress of a job page, reading the JSON API with the session cookie (GET
// requests only). It writes text with textContent, never markup.
"use strict";
(function () {
  var indicator = document.getElementById("sweep-indicator");
  var indicatorText = document.getElementById("sweep-indicator-text");
  var job = document.getElementById("job-progress");

  function get(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.json();
    });
  }

  function newest(status) {
    return get("/api/jobs?kind=inventory&status=" + status + "&limit=1").then(function (page) {
      return page.Items && page.Items[0];
    });
  }

  // The running sweep, else an interrupted one (resumable), else nothing.
  function refreshIndicator() {
    if (!indicator) { return; }
    newest("running").then(function (running) {
      return running || newest("interrupted");
    }).then(function (sweep) {
      indicator.hidden = !sweep;
      if (sweep) {
        indicatorText.textContent = "Inventory sweep " + sweep.Status + ": " + sweep.ProgressDone + " of " + sweep.ProgressTotal;
        indicator.setAttribute("href", "/jobs/" + encodeURIComponent(sweep.Id));
      }
    }).catch(function () { /* keep what the server rendered */ });
  }

  function refreshJob() {
    if (!job) { return; }
    var id = job.getAttribute("data-job-id");
    get("/api/jobs/" + encodeURIComponent(id)).then(function (j) {
      var bar = job.querySelector("progress");
      var text = job.querySelector(".progress-text");
      bar.max = Math.max(j.ProgressTotal, 1);
      bar.value = j.ProgressDone;
      text.textContent = j.ProgressDone + " of " + j.ProgressTotal + " · " + j.Status;
      if (j.Status !== "running" && j.Status !== "queued") {
        // Finished: reload once so counts and errors show in full.
        window.location.reload();
      }
    }).catch(function () {});
  }

  setInterval(refreshIndicator, 5000);
  if (job && job.getAttribute("data-running") === "true") {
    setInterval(refreshJob, 2000);
  }
})();
