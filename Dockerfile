# Hookline: API and workers. `docker run -e HOOKLINE_DATABASE_URL=... hookline` serves on :8000.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HOOKLINE_HOST=0.0.0.0 \
    HOOKLINE_PORT=8000 \
    HOOKLINE_DATA_DIR=/var/lib/hookline

RUN useradd --create-home --uid 10001 hookline \
    && mkdir -p /var/lib/hookline && chown hookline /var/lib/hookline

WORKDIR /app

# Dependencies first, so a source change does not reinstall them.
COPY pyproject.toml README.md ./
RUN mkdir app && touch app/__init__.py \
    && pip install . \
    && pip uninstall --yes hookline && rm -rf app build

# The source, installed editable so that alembic/ beside app/ is where the code looks for it.
COPY alembic.ini ./
COPY alembic ./alembic
COPY app ./app
RUN pip install --no-deps -e .

USER hookline
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"HOOKLINE_PORT\"]}/readyz', timeout=2)"]
CMD ["hookline", "serve"]
