// hub.js: small progressive enhancements. Every form works without it.
(function () {
  "use strict";

  function hex(n) {
    var a = new Uint8Array(n), s = "";
    crypto.getRandomValues(a);
    for (var i = 0; i < a.length; i++) s += ("0" + a[i].toString(16)).slice(-2);
    return s;
  }

  // A nonce per form load: the edge records a form sent twice only once.
  document.querySelectorAll("input[name=nonce]").forEach(function (el) {
    if (!el.value) el.value = hex(16);
  });

  // One submission per click: a double click sends the form once.
  document.querySelectorAll("form[method=post]").forEach(function (f) {
    f.addEventListener("submit", function (e) {
      if (f.dataset.sent) { e.preventDefault(); return; }
      f.dataset.sent = "1";
      setTimeout(function () {
        f.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
      }, 0);
    });
  });

  // Optional lines: the total (and the deposit) follow the client's choice.
  document.querySelectorAll("form[data-choices]").forEach(function (f) {
    var choices;
    try { choices = JSON.parse(f.dataset.choices); } catch (e) { return; }
    var boxes = f.querySelectorAll("input[data-bit]");
    function update() {
      var mask = 0;
      boxes.forEach(function (b) { if (b.checked) mask |= 1 << Number(b.dataset.bit); });
      var c = choices[String(mask)];
      if (!c) return;
      document.querySelectorAll("[data-total]").forEach(function (el) { el.textContent = c[0]; });
      document.querySelectorAll("[data-deposit]").forEach(function (el) { el.textContent = c[1]; });
    }
    boxes.forEach(function (b) { b.addEventListener("change", update); });
    update();
  });

  // Signature pad: drawing is optional; the typed name is the signature
  // when nothing is drawn (or without JavaScript).
  document.querySelectorAll("[data-signature-pad]").forEach(function (wrap) {
    var canvas = wrap.querySelector("canvas");
    var input = wrap.querySelector("input[name=signature]");
    var clear = wrap.querySelector("button[data-clear]");
    if (!canvas || !input || !canvas.getContext) return;
    wrap.hidden = false;
    var ctx = canvas.getContext("2d");
    var drawing = false, drawn = false, last = null;
    function size() {
      var r = canvas.getBoundingClientRect();
      var ratio = Math.min(window.devicePixelRatio || 1, 2);
      canvas.width = Math.round(r.width * ratio);
      canvas.height = Math.round(r.height * ratio);
      ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
      ctx.lineWidth = 2.2;
      ctx.lineCap = "round";
      ctx.lineJoin = "round";
      ctx.strokeStyle = "#111";
      drawn = false;
      input.value = "";
    }
    function at(e) {
      var r = canvas.getBoundingClientRect();
      return { x: e.clientX - r.left, y: e.clientY - r.top };
    }
    canvas.addEventListener("pointerdown", function (e) {
      drawing = true;
      last = at(e);
      canvas.setPointerCapture(e.pointerId);
      e.preventDefault();
    });
    canvas.addEventListener("pointermove", function (e) {
      if (!drawing) return;
      var p = at(e);
      ctx.beginPath();
      ctx.moveTo(last.x, last.y);
      ctx.lineTo(p.x, p.y);
      ctx.stroke();
      last = p;
      drawn = true;
      e.preventDefault();
    });
    function end() {
      if (!drawing) return;
      drawing = false;
      if (drawn) input.value = canvas.toDataURL("image/png");
    }
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    if (clear) clear.addEventListener("click", function () { size(); });
    size();
  });

  // Messages: the pages are the same for every contact of a client, so the
  // edge says which threads hold an answer this person has not read; their
  // badges show, and the threads on this page are then marked read.
  var msgs = document.querySelector("[data-messages]");
  if (msgs && window.fetch) {
    var base = msgs.dataset.messages;
    fetch(base + "/unread", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (d) {
        if (!d || !d.unread || !d.unread.length) return;
        var unread = {};
        d.unread.forEach(function (t) { unread[t] = true; });
        document.querySelectorAll("[data-unread]").forEach(function (el) {
          if (unread[el.dataset.unread]) el.hidden = false;
        });
        document.querySelectorAll("[data-unread-count]").forEach(function (el) {
          el.textContent = d.unread.length + " unread";
          el.hidden = false;
        });
        document.querySelectorAll("section[data-thread]").forEach(function (s) {
          if (!unread[s.dataset.thread]) return;
          fetch(base + "/read", { method: "POST", credentials: "same-origin", body: new URLSearchParams({ thread: s.dataset.thread }) })
            .catch(function () {});
        });
      })
      .catch(function () {});
  }

  // Print buttons.
  document.querySelectorAll("button[data-print]").forEach(function (b) {
    b.hidden = false;
    b.addEventListener("click", function () { window.print(); });
  });
})();
