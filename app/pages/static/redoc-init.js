"use strict";
// Starts ReDoc on /redoc (a file of its own: the page's CSP allows no inline script).
var element = document.getElementById("redoc");
Redoc.init(element.dataset.openapiUrl, { hideDownloadButton: false }, element);
