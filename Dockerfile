# The application image: the CLI, stream worker, review app and MLflow server.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY settlement settlement
COPY detection detection
COPY models models
COPY streams streams
COPY review review
COPY simulator simulator
COPY yibao yibao
RUN pip install --no-cache-dir . "psycopg[binary]>=3.1"
RUN useradd --create-home yibao && mkdir -p /var/lib/yibao && chown yibao /var/lib/yibao
USER yibao
EXPOSE 6066 8000 5000
CMD ["yibao", "--help"]
