// The class register: one key per change. P/A/L/E set the focused student's status, then move on.
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

  form.addEventListener("change", recount);
  form.addEventListener("keydown", function (event) {
    if ((event.ctrlKey || event.metaKey) && event.key === "Enter") {
      event.preventDefault();
      form.requestSubmit();
      return;
    }
    var target = event.target;
    if (!(target instanceof HTMLInputElement) || target.type !== "radio") return;
    var status = keys[event.key.toLowerCase()];
    if (!status || event.ctrlKey || event.metaKey || event.altKey) return;
    event.preventDefault();
    var row = target.closest("tr[data-row]");
    var choice = row.querySelector('input[type=radio][value="' + status + '"]');
    choice.checked = true;
    recount();
    if (status === "late") {  // the minutes are asked for next
      row.querySelector(".late-input").focus();
      return;
    }
    var all = rows();
    var next = all[all.indexOf(row) + 1];
    if (next) next.querySelector("input[type=radio]:checked").focus();
  });
})();
