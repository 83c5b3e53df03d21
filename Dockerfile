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
RUN sed -i 's|^path = "data"|path = "/data"|' /etc/newsbot/config.toml
VOLUME ["/data"]

USER newsbot
# The token comes from the environment: docker run -e TELEGRAM_BOT_TOKEN=...
ENTRYPOINT ["python", "-m", "bot"]
CMD ["run"]
