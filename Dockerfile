# Doorstep API image. Build: docker build -t doorstep .   (see docker-compose.yml)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --system --gid 10001 doorstep \
    && useradd --system --uid 10001 --gid doorstep --home-dir /app --shell /usr/sbin/nologin doorstep

WORKDIR /app

# Only what the package needs (no tests, no test extras).
COPY pyproject.toml README.md ./
COPY api/ api/
COPY sync/ sync/
COPY clients/ clients/
COPY bkr_double/ bkr_double/
RUN pip install . \
    && rm -rf build *.egg-info \
    && chown doorstep:doorstep /app

USER doorstep

EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

CMD ["doorstep", "serve", "--host", "0.0.0.0", "--port", "8000"]
