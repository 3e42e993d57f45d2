"""How the OpenAPI schema describes authentication, so the browsable docs can log in and try calls."""

from __future__ import annotations

from litestar.openapi.spec import Components, OAuthFlow, OAuthFlows, SecurityScheme

SECURITY: list[dict[str, list[str]]] = [{"staff_login": []}, {"bearer": []}]


def security_components() -> Components:
    return Components(
        security_schemes={
            "staff_login": SecurityScheme(
                type="oauth2",
                description="Staff: email and password at POST /v1/auth/token → a 15-minute bearer JWT.",
                flows=OAuthFlows(password=OAuthFlow(token_url="/v1/auth/token", scopes={})),  # noqa: S106
            ),
            "bearer": SecurityScheme(
                type="http",
                scheme="bearer",
                description="A service API key (`olk_…`), a staff JWT, or a contact session token.",
            ),
        }
    )
