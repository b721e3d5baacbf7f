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
    docExpansion: "list",
    filter: true,
    // The schemas list is long and each operation shows its own.
    defaultModelsExpandDepth: -1,
    persistAuthorization: false,
    onComplete: function () {
      document.body.dataset.ready = "true";
    },
  });
})();
