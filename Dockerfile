# syntax=docker/dockerfile:1
# Build stage: compile wheels with the build tools; none of them reach the final image.
FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN apt-get update && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
COPY seed ./seed
RUN python -m venv /opt/venv && /opt/venv/bin/pip install --upgrade pip \
    && /opt/venv/bin/pip install .

# Final stage: the virtual environment and the code, run as an unprivileged user.
FROM python:3.11-slim-bookworm
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    RECTRACK_ENVIRONMENT=production \
    RECTRACK_HOST=0.0.0.0 \
    RECTRACK_PORT=8000
RUN groupadd --system rectrack && useradd --system --gid rectrack --home-dir /srv/rectrack rectrack
COPY --from=build /opt/venv /opt/venv
WORKDIR /srv/rectrack
USER rectrack
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request, os; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('RECTRACK_PORT', '8000')}/healthz\", timeout=2)"]
CMD ["rectrack", "serve"]
