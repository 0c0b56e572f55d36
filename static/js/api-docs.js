// Starts Swagger UI on /api/docs (billing_admin/api/docs.py). No inline script: the page's CSP
// allows scripts from this site only. "Try it out" uses the browser's session, whose writes must
// carry the CSRF token (auth/guard.py).
window.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("swagger-ui");
  var csrfToken = root.dataset.csrfToken;
  window.SwaggerUIBundle({
    url: root.dataset.specUrl,
    domNode: root,
    deepLinking: true,
    validatorUrl: null, // never ask an outside validator
    requestInterceptor: function (request) {
      if (request.method && request.method.toUpperCase() !== "GET") {
        request.headers["X-CSRFToken"] = csrfToken;
      }
      return request;
    },
  });
});
