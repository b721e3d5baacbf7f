// Starts Swagger UI on the API's OpenAPI document (the page's `data-openapi`, relative to the
// page so that a stage in the URL is kept). Nothing is fetched from elsewhere: no validator
// badge, no fonts, no telemetry.
(function () {
  "use strict";
  var root = document.getElementById("sandbox");
  window.ui = SwaggerUIBundle({
    url: new URL(root.dataset.openapi, window.location.href).href,
    domNode: root,
    validatorUrl: null,
    deepLinking: true,
    // Operations open ready to send; the headers come from the document: Accept and
    // Content-Type are the JSON:API media type, X-Include is offered where it applies.
    tryItOutEnabled: true,
    displayRequestDuration: true,
    // Types start folded: Swagger UI 5.35 rendering every operation at once (some 270 for the
    // example domain with its checkout) stalled after the first five, leaving the page empty
    // below them; a type's operations render when it is opened.
    docExpansion: "none",
    filter: true,
    // The schemas list is long and each operation shows its own.
    defaultModelsExpandDepth: -1,
    persistAuthorization: false,
    // With two response media types (JSON:API and the plain view) Swagger UI sends
    // `Accept: */*` until one is picked, which the API answers with the plain view; the
    // page shows JSON:API first, so that is what it asks for.
    requestInterceptor: function (req) {
      if (req.loadSpec) return req;
      var name = Object.keys(req.headers).find(function (h) {
        return h.toLowerCase() === "accept";
      });
      if (!name || req.headers[name] === "*/*") {
        delete req.headers[name];
        req.headers.Accept = "application/vnd.api+json";
      }
      return req;
    },
    onComplete: function () {
      document.body.dataset.ready = "true";
    },
  });
})();
