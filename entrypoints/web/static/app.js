/* innospace console: no inline scripts (the CSP forbids them); behaviour hangs on data-*. */
(function () {
  "use strict";

  function drawCharts(root) {
    if (typeof window.echarts === "undefined") { return; }
    root.querySelectorAll(".chart[data-option]").forEach(function (el) {
      if (el.dataset.drawn) { return; }
      el.dataset.drawn = "1";
      var chart = window.echarts.init(el, null, { renderer: "canvas" });
      chart.setOption(JSON.parse(el.dataset.option));
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }

  function guardForms(root) {
    root.querySelectorAll("form").forEach(function (form) {
      if (form.dataset.guarded) { return; }
      form.dataset.guarded = "1";
      form.addEventListener("submit", function (event) {
        var question = form.dataset.confirm;
        if (question && !window.confirm(question)) {
          event.preventDefault();
          return;
        }
        /* A second click sends nothing; the server's form token covers the rest. */
        if (form.dataset.sent) { event.preventDefault(); return; }
        form.dataset.sent = "1";
        form.querySelectorAll("button[type=submit]").forEach(function (b) {
          b.setAttribute("aria-busy", "true");
        });
      });
    });
  }

  function ready(root) { drawCharts(root); guardForms(root); }

  document.addEventListener("DOMContentLoaded", function () { ready(document); });
  document.addEventListener("htmx:afterSwap", function (event) { ready(event.target); });
  document.addEventListener("htmx:responseError", function (event) {
    var box = document.getElementById("messages");
    if (box) {
      var p = document.createElement("p");
      p.className = "flash error";
      p.textContent = document.body.dataset.lang === "en"
        ? "The request failed (" + event.detail.xhr.status + ")."
        : "请求失败（" + event.detail.xhr.status + "）。";
      box.replaceChildren(p);
    }
  });
  document.addEventListener("click", function (event) {
    var target = event.target;
    if (target instanceof Element && target.matches("[data-print]")) { window.print(); }
  });
})();
