// Live run page: listen to the run's server-sent events and refresh the step states on each.
(function () {
  "use strict";
  var script = document.currentScript;
  var runId = script.dataset.run;
  if (script.dataset.finished === "true") { return; }

  function setBadge(el, status) {
    el.textContent = status;
    el.className = el.className.replace(/\bs-\S+/g, "") + " s-" + status;
  }

  function refresh() {
    return fetch("/runs/" + encodeURIComponent(runId) + "/state", {credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (state) {
        setBadge(document.getElementById("run-status"), state.status);
        var err = document.getElementById("run-error");
        if (state.error) { err.textContent = state.error; err.hidden = false; }
        state.steps.forEach(function (step) {
          var row = document.querySelector('tr[data-step="' + step.step_id + '"]');
          if (row) {
            setBadge(row.querySelector('[data-role="status"]'), step.status);
            row.querySelector('[data-role="attempts"]').textContent = step.attempts;
            var out = row.querySelector('[data-role="output"]');
            var text = step.output || step.error || "";
            out.textContent = text; out.hidden = !text;
          }
          var node = document.querySelector('[data-node="' + step.step_id + '"]');
          if (node) { node.setAttribute("class", "node st-" + step.status); }
        });
        return state;
      });
  }

  var FINISHED = ["succeeded", "failed", "cancelled"];
  var lastSeq = Number(script.dataset.lastSeq || 0);
  var source = new EventSource("/runs/" + encodeURIComponent(runId) + "/events");
  var list = document.getElementById("events");
  function onEvent(message) {
    var event = JSON.parse(message.data);
    if (event.seq > lastSeq) {
      lastSeq = event.seq;
      var li = document.createElement("li");
      var code = document.createElement("code");
      code.textContent = event.seq;
      li.appendChild(code);
      li.appendChild(document.createTextNode(" " + event.kind + " — " + event.actor));
      list.appendChild(li);
    }
    var state = refresh();
    // A run_end ends this try of the run; a failed run that was resumed has one before its
    // run_resume. Close only once the run itself says it has finished.
    if (event.kind === "run_end") {
      state.then(function (s) { if (FINISHED.indexOf(s.status) >= 0) { source.close(); } });
    }
  }
  ["run_start", "run_resume", "attempt_start", "attempt_success", "attempt_failure",
   "step_check", "run_cancel", "run_end"].forEach(function (kind) {
    source.addEventListener(kind, onEvent);
  });
  // The stream closes when the run has ended; take one last look then.
  source.onerror = function () { source.close(); refresh(); };
  refresh();
})();
