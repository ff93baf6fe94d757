# leadbot: `docker build -t leadbot . && docker run -p 8080:8080 -v leadbot-data:/data leadbot`
# Set MONGODB_URI for production; without it the embedded store lives in /data.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    LEADBOT_HOST=0.0.0.0 \
    LEADBOT_PORT=8080 \
    LEADBOT_DATA_DIR=/data

WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY channels ./channels
COPY flows ./flows
COPY widget ./widget
RUN pip install . \
    && rm -rf /src \
    && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin leadbot \
    && mkdir -p /data \
    && chown leadbot:leadbot /data

WORKDIR /data
USER leadbot
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2)"
CMD ["leadbot", "serve"]
