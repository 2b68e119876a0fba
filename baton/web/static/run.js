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

  function count(n) { return n.toLocaleString("en-US"); }  // as the page writes it: 20,000

  // Text as the server writes it on the page (planner.problems.printable, as Python's repr
  // escapes): control and format characters escaped, so an actor's name that holds one
  // cannot reorder or hide what the page shows. The state's texts come escaped already.
  var NOT_PRINTABLE = /[\p{C}\p{Zl}\p{Zp}]/gu;
  var SHORT = {"\t": "\\t", "\n": "\\n", "\r": "\\r"};
  function printable(text) {
    return String(text).replace(NOT_PRINTABLE, function (ch) {
      if (SHORT[ch]) { return SHORT[ch]; }
      var code = ch.codePointAt(0).toString(16);
      var width = code.length <= 2 ? 2 : (code.length <= 4 ? 4 : 8);
      return "\\" + (width === 2 ? "x" : (width === 4 ? "u" : "U")) +
        "0".repeat(width - code.length) + code;
    });
  }

  function refresh() {
    return fetch("/runs/" + encodeURIComponent(runId) + "/state", {credentials: "same-origin"})
      .then(function (r) {
        if (r.ok && !r.redirected) { return r.json(); }
        // A 5xx is the server (or a proxy before it) failing for now; any other answer that is
        // not the state (a redirect to sign in, a 404) will not change by asking again.
        throw {lasting: r.status < 500};
      })
      .then(function (state) {
        setBadge(document.getElementById("run-status"), state.status);
        var err = document.getElementById("run-error");
        if (state.error) { err.textContent = state.error; err.hidden = false; }
        // By position, never by id: shown ids may be masked alike (two secrets, two
        // "[REDACTED]"), and the state lists the steps in the order the page shows them.
        state.steps.forEach(function (step, index) {
          var row = document.querySelector('tr[data-index="' + index + '"]');
          if (row) {
            setBadge(row.querySelector('[data-role="status"]'), step.status);
            row.querySelector('[data-role="attempts"]').textContent = step.attempts;
            var out = row.querySelector('[data-role="output"]');
            var text = step.output || step.error || "";
            out.textContent = text; out.hidden = !text;
            // A long output is shown cut: say so, beside the link to the whole.
            var cut = row.querySelector('[data-role="output-cut"]');
            // Characters as the server counts them (code points, not UTF-16 units).
            var shown = step.output_cut ? Array.from(step.output).length : 0;
            cut.querySelector('[data-role="cut-note"]').textContent = step.output_cut
              ? "Too long to show whole: the first " + count(shown) + " of " +
                count(step.output_chars) + " characters are shown." : "";
            cut.hidden = !step.output_cut;
            var uri = row.querySelector('[data-role="output-uri"]');  // stored as an artifact
            uri.textContent = step.output_uri || ""; uri.hidden = !step.output_uri;
          }
          var node = document.querySelector('[data-node-index="' + index + '"]');
          if (node) { node.setAttribute("class", "node st-" + step.status); }
        });
        return state;
      });
  }

  var RECONNECT_MS = 3000;  // the browser's own wait before it reconnects a dropped stream
  var KINDS = ["run_start", "run_resume", "attempt_start", "attempt_success", "attempt_failure",
               "step_check", "cancel_request", "run_cancel", "run_end"];
  var eventsUrl = "/runs/" + encodeURIComponent(runId) + "/events";
  var lastSeq = Number(script.dataset.lastSeq || 0);
  var list = document.getElementById("events");
  var source = null;

  function onEvent(message) {
    var event = JSON.parse(message.data);
    if (event.seq > lastSeq) {  // a new stream starts from the beginning: show each event once
      lastSeq = event.seq;
      var li = document.createElement("li");
      var code = document.createElement("code");
      code.textContent = event.seq;
      li.appendChild(code);
      li.appendChild(document.createTextNode(
        " " + printable(event.kind) + " — " + printable(event.actor)));
      list.appendChild(li);
    }
    var state = refresh();
    // A run_end ends this try of the run; a failed run that was resumed has one before its
    // run_resume, which a new stream replays. Close only once the run has finished and this
    // page has shown its last event: the look at the state for an earlier try's run_end may
    // come back after the run ended, before the stream delivered the real end.
    if (event.kind === "run_end") {
      var stream = source;
      state.then(function (s) { if (shownAll(s)) { stream.close(); } });
    }
  }

  function shownAll(state) { return state.finished && lastSeq >= state.last_seq; }

  // The stream failed: it dropped (the browser reconnects by itself, sending Last-Event-ID),
  // the server ended it at the run's end, or an answer that was no stream (a proxy's 502
  // while the server restarts) closed it for good. The run's state tells which.
  function onError() {
    var failed = source;
    refresh().then(function (state) {
      if (state.finished) {
        failed.close();  // the end: no reconnecting to a stream that has nothing more to say
        // Finished, but the stream failed before it showed the end (a drop just as the run
        // ended): one last stream, from the start, shows what is missing, then is closed.
        if (failed === source && !shownAll(state)) { connect(true); }
      } else if (failed.readyState === EventSource.CLOSED && failed === source) {
        setTimeout(connect, RECONNECT_MS);
      }
    }, function (problem) {
      // No state either. While the server is away (no answer, a 5xx) the browser retries a
      // dropped stream; a closed one is tried again here, until the server answers.
      var lasting = problem && problem.lasting;
      if (!lasting && failed.readyState === EventSource.CLOSED && failed === source) {
        setTimeout(connect, RECONNECT_MS);
      }
    });
  }

  function connect(last) {
    var opened = new EventSource(eventsUrl);
    source = opened;
    KINDS.forEach(function (kind) { opened.addEventListener(kind, onEvent); });
    // The last stream of a finished run ends once it has sent everything: never reconnected.
    opened.onerror = last ? function () { opened.close(); } : onError;
  }

  connect();
  refresh();
})();
