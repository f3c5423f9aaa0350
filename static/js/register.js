// The class register: one key per change. P/A/L/E set the focused student's status, then move on.
// L moves to the minutes-late box instead; Enter there (or in the note) goes on to the next student
// rather than sending the form half-done. After the last student the focus lands on "Save register";
// Ctrl+Enter (Cmd+Enter) saves from anywhere in the form.
(function () {
  "use strict";
  var form = document.getElementById("register-form");
  if (!form) return;
  var keys = { p: "present", a: "absent", l: "late", e: "excused" };

  function rows() { return Array.prototype.slice.call(form.querySelectorAll("tr[data-row]")); }

  function recount() {
    var counts = { present: 0, absent: 0, late: 0, excused: 0 };
    form.querySelectorAll("tr[data-row] input[type=radio]:checked").forEach(function (input) {
      counts[input.value] += 1;
    });
    Object.keys(counts).forEach(function (status) {
      var el = form.querySelector('[data-count="' + status + '"]');
      if (el) el.textContent = counts[status];
    });
  }

  // Minutes late belong to a late mark only: another status clears them, typed minutes make the mark late.
  function statusChanged(row, status) {
    var late = row.querySelector(".late-input");
    if (late && status !== "late") late.value = "";
  }

  function moveOn(row) {
    var all = rows();
    var next = all[all.indexOf(row) + 1];
    if (next) {
      next.querySelector("input[type=radio]:checked").focus();
    } else {
      var save = form.querySelector("[data-save]");
      if (save) save.focus();
    }
  }

  form.addEventListener("change", function (event) {
    var target = event.target;
    if (target instanceof HTMLInputElement && target.type === "radio" && target.closest("tr[data-row]")) {
      statusChanged(target.closest("tr[data-row]"), target.value);
    }
    recount();
  });

  form.addEventListener("input", function (event) {
    var target = event.target;
    if (!(target instanceof HTMLInputElement) || !target.classList.contains("late-input")) return;
    if (parseInt(target.value, 10) > 0) {
      var late = target.closest("tr[data-row]").querySelector('input[type=radio][value="late"]');
      if (!late.checked) {
        late.checked = true;
        recount();
      }
    }
  });

  form.addEventListener("keydown", function (event) {
    if ((event.ctrlKey || event.metaKey) && event.key === "Enter") {
      event.preventDefault();
      form.requestSubmit();
      return;
    }
    var target = event.target;
    if (!(target instanceof HTMLInputElement)) return;
    var row = target.closest("tr[data-row]");
    if (!row) return;
    if (event.key === "Enter" && (target.type === "number" || target.type === "text")) {
      event.preventDefault();  // not a half-done save: on to the next student
      moveOn(row);
      return;
    }
    if (target.type !== "radio") return;
    var status = keys[event.key.toLowerCase()];
    if (!status || event.ctrlKey || event.metaKey || event.altKey) return;
    event.preventDefault();
    var choice = row.querySelector('input[type=radio][value="' + status + '"]');
    choice.checked = true;
    statusChanged(row, status);
    recount();
    if (status === "late") {  // the minutes are asked for next
      row.querySelector(".late-input").focus();
      return;
    }
    moveOn(row);
  });
})();
