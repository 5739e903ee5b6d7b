// Keyboard-first data entry: Enter moves to the next field, the server judges each field as
// it is left (relevance hides and skips questions, problems appear beside the field).
// Without this script the form still works: it is a plain HTML form posted to the server.
(function () {
  "use strict";
  var form = document.getElementById("entry-form");
  if (!form) { return; }
  var touched = {};
  var pending = null;

  function fields() {
    return Array.prototype.filter.call(form.querySelectorAll("input.fld"), function (el) {
      return !el.disabled && el.offsetParent !== null;
    });
  }

  function next(el) {
    var list = fields();
    var i = list.indexOf(el);
    if (el.type === "checkbox") {  // jump over the other boxes of the same question
      while (i + 1 < list.length && list[i + 1].name === el.name) { i += 1; }
    }
    if (i >= 0 && i + 1 < list.length) { list[i + 1].focus(); list[i + 1].select && list[i + 1].select(); }
    else { document.getElementById("save").focus(); }
  }

  function show(result) {
    var hidden = {};
    result.hidden.forEach(function (n) { hidden[n] = true; });
    form.querySelectorAll("[data-q]").forEach(function (box) {
      var name = box.getAttribute("data-q");
      var hide = !!hidden[name];
      box.classList.toggle("hidden", hide);
      box.querySelectorAll("input.fld").forEach(function (el) {
        if (hide) { if (el.type === "checkbox") { el.checked = false; } else { el.value = ""; } }
        el.disabled = hide;
      });
    });
    form.querySelectorAll("ul.problems").forEach(function (ul) {
      var name = ul.getAttribute("data-for");
      ul.textContent = "";
      if (!touched[name]) { return; }
      result.problems.forEach(function (p) {
        if (p.question.split(",").indexOf(name) < 0) { return; }
        var li = document.createElement("li");
        li.className = p.severity === "error" ? "error" : "warning";
        li.textContent = p.message;
        ul.appendChild(li);
      });
    });
  }

  function check() {
    if (pending) { pending.abort(); }
    pending = new AbortController();
    fetch("/check", {method: "POST", body: new FormData(form), signal: pending.signal,
                     credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (result) { if (result) { show(result); } })
      .catch(function () {});
  }

  form.addEventListener("keydown", function (ev) {
    var el = ev.target;
    if (ev.key === "Enter" && el.classList && el.classList.contains("fld")) {
      ev.preventDefault();
      touched[el.name] = true;
      check();
      next(el);
    }
  });
  form.addEventListener("change", function (ev) {
    if (ev.target.name) { touched[ev.target.name] = true; }
    check();
  });
  var first = fields()[0];
  if (first && !document.querySelector("ul.summary")) { first.focus(); }
})();
