// Starts Swagger UI on the admin API's OpenAPI document. A file of its own, not an inline script,
// so the docs page can forbid inline script in its Content-Security-Policy.
window.addEventListener("DOMContentLoaded", () => {
  window.ui = window.SwaggerUIBundle({
    url: "/_keygate/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
  });
});
