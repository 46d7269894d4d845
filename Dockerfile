# Image for the api and worker services of compose.yaml.
FROM python:3.11-slim
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
USER nobody
