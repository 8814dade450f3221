"use strict";
// Every minute, ask for this page again with the ETag it came with: a 304 costs nothing
// and changes nothing; a new page replaces the main content (the date form keeps its focus).
(function () {
  var meta = document.querySelector('meta[name="rectrack-etag"]');
  if (!meta || !window.fetch) return;
  var etag = meta.content;
  function refresh() {
    fetch(location.href, { headers: { "If-None-Match": etag }, cache: "no-store", credentials: "same-origin" })
      .then(function (response) {
        if (response.redirected) { location.assign(response.url); return; }
        if (response.status !== 200) return;
        etag = response.headers.get("ETag") || etag;
        return response.text().then(function (html) {
          var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("main");
          var main = document.getElementById("main");
          if (fresh && main) main.replaceWith(fresh);
        });
      })
      .catch(function () {});
  }
  setInterval(refresh, 60000);
})();
