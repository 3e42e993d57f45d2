// Starts Swagger UI on /schema/swagger (a file, not an inline script: the page's CSP allows
// scripts from this origin only). The schema and every "Try it out" call stay on this origin.
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/schema/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    persistAuthorization: false,
  });
});
