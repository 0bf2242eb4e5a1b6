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
COPY deploy/constraints.txt ./deploy/
COPY buildtools ./buildtools
COPY factory_core ./factory_core
COPY factory_broker ./factory_broker
COPY gateway ./gateway
COPY bridge ./bridge
# The package build puts the dashboard into the installed package (buildtools/wheel.py), where
# the bridge serves it from: no FACTORY_WEB_DIST needed.
COPY --from=web /src/web/dist ./web/dist
# Every version pinned by the constraints file (make constraints), so a rebuild installs what
# was tested.
RUN pip install --constraint deploy/constraints.txt '.[gateway,bridge]' \
    && useradd --system --uid 10001 --home-dir /var/lib/factory-iot --create-home factory
# Numeric, so that the runtime (and Kubernetes' runAsNonRoot) can tell it is not root.
USER 10001
ENV FACTORY_HTTP_HOST=0.0.0.0 \
    FACTORY_HTTP_PORT=5000 \
    FACTORY_STATE_DIR=/var/lib/factory-iot
EXPOSE 5000
CMD ["factory-bridge"]
