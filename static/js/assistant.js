// The study assistant: an answer bubble with data-stream-url opens that server-sent event stream and
// shows the answer as it is written. Events: "token" {t} a piece of text, "reset" start again (the
// provider's stream broke; another answer follows), "done" {id, note, html} the answer is saved (html: rendered), "failure"
// {message, retry} it could not be answered (the question is saved; "Try again" asks again).
(function () {
  "use strict";

  function parse(event) {
    try { return JSON.parse(event.data); } catch (e) { return {}; }
  }

  function follow(bubble) {
    var log = document.getElementById("chat-log");
    if (log) bubble.scrollIntoView({ block: "nearest" });
  }

  function start(bubble) {
    if (bubble.dataset.streaming) return;
    bubble.dataset.streaming = "1";
    var text = bubble.querySelector(".msg-text");
    var status = bubble.querySelector(".msg-status");
    var retry = bubble.querySelector(".msg-retry");
    var finished = false;
    var source = new EventSource(bubble.dataset.streamUrl);

    function finish(message, canRetry) {
      finished = true;
      source.close();
      bubble.removeAttribute("aria-busy");
      bubble.removeAttribute("data-stream-url");
      if (status) status.textContent = message || "";
      if (retry && canRetry) retry.hidden = false;
    }

    source.addEventListener("token", function (event) {
      if (status && status.textContent) status.textContent = "";
      text.textContent += parse(event).t || "";
      follow(bubble);
    });
    source.addEventListener("reset", function () { text.textContent = ""; text.classList.remove("msg-md"); });
    source.addEventListener("done", function (event) {
      var data = parse(event);
      bubble.dataset.answer = data.id;
      // The text came in as Markdown; the server sends the finished answer rendered and cleaned.
      if (typeof data.html === "string") {
        text.innerHTML = data.html;
        text.classList.add("msg-md");
      }
      finish(data.note, false);
      follow(bubble);
    });
    source.addEventListener("failure", function (event) {
      var data = parse(event);
      bubble.classList.add("msg-failed");
      finish(data.message || "The assistant could not answer.", data.retry);
    });
    source.onerror = function () {
      // The connection dropped before the answer was complete; it is still saved on the server.
      if (!finished) finish("The connection was lost. Reload the page to see the answer.", false);
    };
  }

  function scan(root) {
    if (!root || !root.querySelectorAll) return;
    if (root.matches && root.matches("[data-stream-url]")) start(root);
    root.querySelectorAll("[data-stream-url]").forEach(start);
  }

  document.addEventListener("DOMContentLoaded", function () { scan(document.body); });
  document.addEventListener("htmx:load", function (event) { scan(event.detail && event.detail.elt); });
  document.addEventListener("htmx:afterSwap", function (event) {
    var empty = document.getElementById("chat-empty");
    if (empty && event.detail && event.detail.target && event.detail.target.id === "chat-log") empty.remove();
  });
})();
