# newsbot: a slim image that runs as a non-root user, with its data in a volume.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    NEWSBOT_CONFIG=/etc/newsbot/config.toml

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
RUN pip install . \
    && useradd --create-home --uid 10001 newsbot \
    && mkdir -p /data /etc/newsbot \
    && chown newsbot:newsbot /data

COPY config.example.toml /etc/newsbot/config.toml
# The store lives in /data: keep it in a volume so subscriptions survive a new container.
# /healthz and /metrics listen on every interface, so the health check and scrapes work; so
# does the webhook (only used when webhook_url is set), for a TLS proxy in another container.
RUN sed -i -e 's|^path = "data"|path = "/data"|' \
           -e 's|^listen = "127.0.0.1"|listen = "0.0.0.0"|' \
           -e 's|^webhook_listen = "127.0.0.1"|webhook_listen = "0.0.0.0"|' /etc/newsbot/config.toml \
    && grep -q '^path = "/data"' /etc/newsbot/config.toml \
    && grep -q '^listen = "0.0.0.0"' /etc/newsbot/config.toml \
    && grep -q '^webhook_listen = "0.0.0.0"' /etc/newsbot/config.toml
VOLUME ["/data"]

# 9464: /healthz and /metrics ([metrics] port); 8443: the webhook ([telegram] webhook_port,
# only used when webhook_url is set).
EXPOSE 9464 8443

USER newsbot
# No curl in the slim image: Python's urllib asks /healthz (any error or a 503 fails).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request as u; u.build_opener(u.ProxyHandler({})).open('http://127.0.0.1:9464/healthz', timeout=4)"]

# The token comes from the environment: docker run -e TELEGRAM_BOT_TOKEN=...
ENTRYPOINT ["python", "-m", "bot"]
CMD ["run"]
