// Starts Swagger UI on the API reference page (/api/v1/cba/schema/swagger). A file of its
// own rather than an inline script: the page's Content-Security-Policy allows none.
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  if (!root || typeof SwaggerUIBundle === "undefined") return;
  SwaggerUIBundle({
    url: root.getAttribute("data-spec-url"),
    domNode: root,
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    // No standalone top bar (it loads any URL's schema) and no call to the public validator.
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    validatorUrl: null,
  });
})();
