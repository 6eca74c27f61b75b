# labelbot's image: `docker build -t labelbot .`, then `docker run --env-file .env -p 3000:3000 labelbot`
# (HTTP mode; Socket Mode needs no published port). compose.yml runs PostgreSQL, two web processes and
# one worker from it. The image holds no secret: every setting comes from the environment (README).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    LABELBOT_HOST=0.0.0.0 \
    LABELBOT_CONFIG=/etc/labelbot/labelbot.yml \
    LABELBOT_MODELS_DIR=/home/labelbot/models

WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY storage ./storage
RUN pip install . && rm -rf /src

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin labelbot \
    && mkdir -p /etc/labelbot \
    && chown labelbot /etc/labelbot
USER 10001
WORKDIR /home/labelbot

EXPOSE 3000
# Liveness: the process answers and, in Socket Mode, its websocket is up (/readyz adds the database).
# Python, not curl: the slim image has no curl.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; p = os.environ.get('LABELBOT_PORT') or os.environ.get('PORT') or '3000'; u.urlopen('http://127.0.0.1:' + p + '/healthz', timeout=4)"]

ENTRYPOINT ["labelbot"]
CMD ["serve"]
