// Keyboard-first data entry: Enter moves to the next field; the server judges the form as
// fields are left (relevance hides and skips questions, problems appear beside the field).
// Without this script the form still works: it is a plain HTML form posted to the server.
(function () {
  "use strict";
  var form = document.getElementById("entry-form");
  if (!form) { return; }
  var touched = {};
  var timer = null;

  function fields() {
    return Array.prototype.filter.call(form.querySelectorAll("input.fld"), function (el) {
      return !el.disabled && el.offsetParent !== null;
    });
  }

  function next(el) {
    var list = fields();
    var i = list.indexOf(el);
    if (el.type === "checkbox") {  // Enter on a box jumps over the other boxes of its question
      while (i + 1 < list.length && list[i + 1].name === el.name) { i += 1; }
    }
    if (i >= 0 && i + 1 < list.length) {
      list[i + 1].focus();
      if (list[i + 1].select) { list[i + 1].select(); }
    } else {  // the last field: have the verdict ready before Save is pressed
      document.getElementById("save").focus();
      check();
    }
  }

  function show(result) {
    var hidden = {};
    result.hidden.forEach(function (n) { hidden[n] = true; });
    form.querySelectorAll("[data-q]").forEach(function (box) {
      var hide = !!hidden[box.getAttribute("data-q")];
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

  // Ask the server to judge the form now. Only the latest verdict is shown; whenIdle()
  // resolves once every request sent so far has come back.
  var seq = 0;
  var inflight = 0;
  var idle = [];
  var lastSent = null;
  var lastResult = null;
  function check() {
    clearTimeout(timer);
    var data = new FormData(form);
    var key = new URLSearchParams(data).toString();
    if (key === lastSent) {  // the verdict on these answers is known or on its way
      return whenIdle().then(function () { if (lastResult) { show(lastResult); } });
    }
    lastSent = key;
    var mine = ++seq;
    inflight += 1;
    return fetch("/check", {method: "POST", body: data, credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (result) {
        if (!result) { lastSent = null; return; }  // refused (e.g. a stale page): ask again
        if (mine === seq) { lastResult = result; show(result); }
      })
      .catch(function () { lastSent = null; })
      .then(function () {
        inflight -= 1;
        if (!inflight) { idle.splice(0).forEach(function (done) { done(); }); }
      });
  }
  function whenIdle() {
    return inflight ? new Promise(function (done) { idle.push(done); }) : Promise.resolve();
  }

  // Judge a little later, once the clerk pauses (one request per pause, not per key).
  function later() {
    clearTimeout(timer);
    timer = setTimeout(check, 300);
  }

  form.addEventListener("keydown", function (ev) {
    var el = ev.target;
    if (ev.key !== "Enter" || !el.classList || !el.classList.contains("fld")) { return; }
    ev.preventDefault();
    touched[el.name] = true;
    if (el.getAttribute("data-trigger")) {  // a skip may follow: move once the server said
      check();
      whenIdle().then(function () { next(el); });
    } else {
      next(el);
      later();
    }
  });
  form.addEventListener("change", function (ev) {
    if (ev.target.name) { touched[ev.target.name] = true; }
    if (ev.target.getAttribute("data-trigger")) { check(); } else { later(); }
  });
  form.addEventListener("focusout", function (ev) {
    if (ev.target.name && ev.target.value) { touched[ev.target.name] = true; }
  });
  form.querySelectorAll("ul.problems").forEach(function (ul) {  // the server's last verdict
    if (ul.children.length) { touched[ul.getAttribute("data-for")] = true; }
  });
  check();
  var first = fields()[0];
  if (first && !document.querySelector("ul.summary")) { first.focus(); }
})();
