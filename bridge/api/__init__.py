"""API: the HTTP routes and the OpenAPI document generated from them."""
