# Image for the api and worker services of compose.yaml.
FROM python:3.11-slim
# DejaVu Sans: the diplomas' typeface, with Estonian and Cyrillic letters.
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
ENV UV_PROJECT_ENVIRONMENT=/opt/venv UV_COMPILE_BYTECODE=1 PATH=/opt/venv/bin:$PATH
RUN pip install --no-cache-dir uv
WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN uv sync --locked --no-dev
COPY service ./service
COPY workers ./workers
COPY migrations ./migrations
COPY scripts ./scripts
COPY alembic.ini ./
# Fail closed: production settings (a real MEIELINN_SECRET_KEY is required), listening on every
# interface, and X-Forwarded-For believed from no proxy but loopback until
# MEIELINN_FORWARDED_ALLOW_IPS names the real ones (the app applies it; uvicorn does not).
ENV MEIELINN_ENV=production MEIELINN_HOST=0.0.0.0 MEIELINN_PORT=8000 \
    MEIELINN_FORWARDED_ALLOW_IPS=127.0.0.1
USER nobody
EXPOSE 8000
CMD ["sh", "-c", "exec uvicorn --factory service.main:run_app --host \"$MEIELINN_HOST\" --port \"$MEIELINN_PORT\" --no-proxy-headers"]
