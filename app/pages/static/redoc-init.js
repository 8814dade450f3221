"use strict";
// Starts ReDoc on /redoc (a file of its own: the page's CSP allows no inline script).
// ReDoc's side menu shows Redocly's logo from Redocly's CDN; no page of ours loads anything
// from another host, so image sources outside this site are dropped before ReDoc starts.
(function () {
  function local(value) {
    var url = new URL(String(value), location.href);
    return url.origin === location.origin || url.protocol === "data:";
  }
  var src = Object.getOwnPropertyDescriptor(HTMLImageElement.prototype, "src");
  Object.defineProperty(HTMLImageElement.prototype, "src", {
    configurable: true,
    get: src.get,
    set: function (value) { if (local(value)) src.set.call(this, value); },
  });
  var setAttribute = Element.prototype.setAttribute;
  Element.prototype.setAttribute = function (name, value) {
    if (this instanceof HTMLImageElement && String(name).toLowerCase() === "src" && !local(value)) return;
    return setAttribute.call(this, name, value);
  };
  var element = document.getElementById("redoc");
  Redoc.init(element.dataset.openapiUrl, {}, element);
})();
