# The base image is pinned by digest so a rebuild gets the same bytes; refresh it on purpose with
# `docker buildx imagetools inspect python:3.12-slim` (see docs/dependencies.md).
FROM python:3.12-slim@sha256:78387bc3881b8273120a12ebe6c1ab22b018ccc2c9adf565ae1ac9b536e184ea

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md requirements.lock ./
COPY bot ./bot
COPY handlers ./handlers
COPY survey_flows ./survey_flows
COPY storage ./storage
COPY reports ./reports
COPY examples ./examples
RUN pip install --require-hashes -r requirements.lock && pip install --no-deps . \
    && useradd --create-home --uid 10001 skm && mkdir -p /app/data && chown skm /app/data

USER skm
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --retries=3 CMD ["python", "-c", "import urllib.request as u; u.urlopen(\"http://127.0.0.1:8080/healthz\", timeout=3)"]
CMD ["skm-bot", "run"]
