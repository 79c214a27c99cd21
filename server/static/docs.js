// Swagger UI set-up for /docs (a file, not an inline script: the page's CSP forbids inline code).
// "Authorize" takes a pasted bearer token; "Try it out" sends requests to this server.
window.addEventListener("DOMContentLoaded", () => {
  window.ui = window.SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null, // no call to validator.swagger.io
    persistAuthorization: false, // the token stays in this tab's memory only
    tryItOutEnabled: true,
  });
});
