FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY survey_flows ./survey_flows
COPY storage ./storage
COPY reports ./reports
COPY examples ./examples
RUN pip install . && useradd --create-home --uid 10001 skm && mkdir -p /app/data && chown skm /app/data

USER skm
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --retries=3 CMD ["python", "-c", "import urllib.request as u; u.urlopen(\"http://127.0.0.1:8080/healthz\", timeout=3)"]
CMD ["skm-bot", "run"]
