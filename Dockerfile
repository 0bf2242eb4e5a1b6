# syntax=docker/dockerfile:1
# One image for the bridge and the (simulated) gateway: `factory-bridge` or `factory-gateway`.

# --- the dashboard build -----------------------------------------------------------------
FROM node:20-slim AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

# --- the Python runtime --------------------------------------------------------------------
FROM python:3.11-slim AS runtime
ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY factory_core ./factory_core
COPY factory_broker ./factory_broker
COPY gateway ./gateway
COPY bridge ./bridge
RUN pip install '.[gateway,bridge]'
COPY --from=web /src/web/dist /app/web/dist
RUN useradd --system --uid 10001 --home-dir /var/lib/factory-iot --create-home factory
USER factory
ENV FACTORY_WEB_DIST=/app/web/dist \
    FACTORY_HTTP_HOST=0.0.0.0 \
    FACTORY_HTTP_PORT=5000 \
    FACTORY_STATE_DIR=/var/lib/factory-iot
EXPOSE 5000
CMD ["factory-bridge"]
