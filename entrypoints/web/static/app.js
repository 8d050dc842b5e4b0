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

  /* Applications: the 统一社会信用代码 (GB 32100-2015) checked as it is typed; the server
     checks it again. <input data-uscc data-uscc-own="…"> with a [data-uscc-result] beside it. */
  var USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY";
  var USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
  var USCC_SHAPE = /^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$/;

  function usccProblem(code, own, en) {
    if (!code) { return ""; }
    if (code.length < 18) { return en ? (18 - code.length) + " more character(s)" : "还差 " + (18 - code.length) + " 位"; }
    if (!USCC_SHAPE.test(code)) { return en ? "18 digits and capital letters (no I, O, S, V, Z)" : "须为 18 位数字或大写字母（不含 I、O、S、V、Z）"; }
    var sum = 0;
    for (var i = 0; i < 17; i++) { sum += USCC_CHARS.indexOf(code.charAt(i)) * USCC_WEIGHTS[i]; }
    var check = USCC_CHARS.charAt((31 - (sum % 31)) % 31);
    if (code.charAt(17) !== check) { return en ? "the check character is wrong" : "校验位不正确，请核对"; }
    if (own && code !== own) { return en ? "not your firm's registered code" : "与本企业登记的代码不符"; }
    return null;
  }

  function watchUscc(root) {
    root.querySelectorAll("input[data-uscc]").forEach(function (input) {
      if (input.dataset.watched) { return; }
      input.dataset.watched = "1";
      var out = input.parentElement.querySelector("[data-uscc-result]");
      var en = document.body.dataset.lang === "en";
      function show() {
        var code = input.value.trim().toUpperCase();
        if (input.value !== code) { input.value = code; }
        var problem = usccProblem(code, input.dataset.usccOwn || "", en);
        input.setCustomValidity(problem ? problem : "");
        if (out) {
          out.textContent = problem === null ? (en ? "✓ valid code" : "✓ 代码有效") : problem;
          out.className = "help " + (problem === null ? "uscc-ok" : problem ? "uscc-bad" : "");
        }
      }
      input.addEventListener("input", show);
      if (input.value) { show(); }
    });
  }

  function ready(root) { drawCharts(root); guardForms(root); watchUscc(root); }

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
